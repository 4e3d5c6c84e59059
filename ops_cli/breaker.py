"""`ops breaker status|open|close`: the circuit breakers, per peer, and their stages' mappings.

An operator's open holds the breaker (`manual`), also one that had opened on its own: the probe
leaves it open (and its mappings paused) however well the peer answers, until `ops breaker
close`. Closing resumes the mappings first, then closes the breaker, as the probe does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.breaker.mappings import MappingSwitch
from shared.breaker.settings import Peer
from shared.breaker.store import BreakerStore, Hold

OPS_BY = "ops"
# Before an operator's reason in the breaker's item: the status table says who opened it.
OPERATOR_PREFIX = "opened by an operator: "


class BreakerError(Exception):
    pass


@dataclass(frozen=True)
class BreakerControl:
    store: BreakerStore
    switch: MappingSwitch
    mappings: dict[Peer, list[str]]  # peer → its stage's mapping UUIDs

    @classmethod
    def of(cls, outputs: dict[str, Any], dynamodb: Any, lambda_client: Any) -> BreakerControl:
        """From the stack's outputs: `CircuitBreakerTableName`, `CircuitBreakerMappings`;
        `dynamodb` is a DynamoDB client (low-level)."""
        try:
            table = outputs["CircuitBreakerTableName"]
            mappings = json.loads(outputs["CircuitBreakerMappings"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BreakerError(f"the stack has no circuit breaker outputs: {exc}") from exc
        return cls(
            store=BreakerStore(table, dynamodb),
            switch=MappingSwitch(lambda_client),
            mappings={Peer(peer): list(ids) for peer, ids in mappings.items()},
        )

    def status(self) -> list[dict[str, Any]]:
        return [
            {**self.store.get(peer).as_dict(), "mappings": self.switch.states(ids)}
            for peer, ids in self.mappings.items()
        ]

    def open(self, peer: Peer, reason: str) -> dict[str, Any]:
        mapping_ids = self._ids(peer)
        found = self.store.hold(peer, OPERATOR_PREFIX + reason)
        paused = self.switch.set_enabled(mapping_ids, enabled=False)
        return {"peer": peer.value, "opened": found is Hold.OPENED, "hold": found, "paused": paused}

    def close(self, peer: Peer) -> dict[str, Any]:
        mapping_ids = self._ids(peer)
        resumed = self.switch.set_enabled(mapping_ids, enabled=True)
        closed = self.store.close(peer, OPS_BY)
        return {"peer": peer.value, "closed": closed, "resumed": resumed}

    def _ids(self, peer: Peer) -> list[str]:
        if peer not in self.mappings:
            raise BreakerError(f"no breaker guards {peer.value}")
        return self.mappings[peer]
