"""One probe tick: for each peer whose breaker is open, ask the peer; when it answers, resume
the stage's mappings and close the breaker, else make sure they are paused (the worker that
opened the breaker may have failed to pause them). An operator's open is left alone.

A closed breaker's mappings are made sure to be enabled as well: a pause that lost a race with
a close (this probe's own pause of a tick that read "open" just before an operator closed, or a
worker's pause after the probe closed the breaker it had just opened) would otherwise leave a
closed breaker over a stage that never moves again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import urllib3

from shared.breaker.mappings import MappingSwitch
from shared.breaker.settings import ProbeTarget
from shared.breaker.store import BreakerStore, PeerBreaker
from shared.observability import logger

PROBE_BY = "probe"


def peer_answers(target: ProbeTarget, timeout_seconds: float) -> bool:
    """Any answer but a 5xx or a 429 (a 400, a 401, a 404) says the peer is up."""
    try:
        response = urllib3.request(
            target.method,
            target.url,
            body=b"{}" if target.method == "POST" else None,
            headers={"Content-Type": "application/json"} if target.method == "POST" else None,
            timeout=urllib3.Timeout(total=timeout_seconds),
            retries=False,
        )
    except urllib3.exceptions.HTTPError:
        return False
    return response.status < 500 and response.status != 429


@dataclass(frozen=True)
class ProbeResult:
    peer: str
    open: bool
    closed_now: bool = False
    paused: tuple[str, ...] = ()
    resumed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    store: BreakerStore
    switch: MappingSwitch
    answers: Callable[[ProbeTarget], bool]

    def tick(self, targets: Sequence[ProbeTarget]) -> list[ProbeResult]:
        return [self.check(target) for target in targets]

    def check(self, target: ProbeTarget) -> ProbeResult:
        breaker = self.store.get(target.peer)
        if not breaker.is_open:
            return self.keep_resumed(target)
        if breaker.manual or not self.answers(target):
            paused = self.switch.set_enabled(self.mappings(target), enabled=False)
            if paused:
                logger.warning("breaker open: paused its mappings", extra={"peer": target.peer})
            return ProbeResult(target.peer.value, open=True, paused=tuple(paused))
        return self.close(target, breaker)

    def keep_resumed(self, target: ProbeTarget) -> ProbeResult:
        """A closed breaker: resume any of its stage's mappings a lost race left paused."""
        resumed = self.switch.set_enabled(self.mappings(target), enabled=True)
        if resumed:
            logger.warning(
                "breaker closed but its stage was paused: mappings resumed",
                extra={"peer": target.peer, "mappings": resumed},
            )
        return ProbeResult(target.peer.value, open=False, resumed=tuple(resumed))

    def mappings(self, target: ProbeTarget) -> list[str]:
        """The stage's mappings of its queues, looked up (no environment can name them: a
        mapping refers to its function, which the probe's role policy already waits for)."""
        return [
            uuid
            for arn in target.source_arns
            for uuid in self.switch.mappings_of(target.function_name, arn)
        ]

    def close(self, target: ProbeTarget, breaker: PeerBreaker, by: str = PROBE_BY) -> ProbeResult:
        """Resume first: a closed breaker with paused mappings would look healthy and move
        nothing. Then close (a failure in between leaves it open: the next tick resumes), unless
        an operator held it since this tick read it: then its stage is paused again."""
        self.switch.set_enabled(self.mappings(target), enabled=True)
        closed = self.store.close(target.peer, by, unless_held=True)
        if not closed and self.store.get(target.peer).is_open:
            paused = self.switch.set_enabled(self.mappings(target), enabled=False)
            logger.warning(
                "an operator held the breaker open while the probe closed it: paused again",
                extra={"peer": target.peer, "mappings": paused},
            )
            return ProbeResult(target.peer.value, open=True, paused=tuple(paused))
        logger.info(
            "peer answers again: breaker closed, mappings resumed",
            extra={"peer": target.peer, "opened_at": breaker.opened_at, "by": by},
        )
        return ProbeResult(target.peer.value, open=False, closed_now=closed)
