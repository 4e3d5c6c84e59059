"""End to end on the local runtime (`python -m local run`, here in-process): how many signed
order webhooks per second the ingest accepts with a few concurrent senders, against its own AWS
calls issued bare (bench/bare.py) to the same moto server at the same concurrency; and how long
an accepted order takes from its 202 to PROCESSED, against the waits and calls that path cannot
avoid. The run also times every function's invokes and its log output, which `bench.cost`
prices (`observed`)."""

from __future__ import annotations

import logging
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bench import bare
from bench.cost_load import kept_bytes
from bench.e2e_traffic import Traffic
from bench.model import Row, Section
from local.event_sources import mappings_from
from local.runtime import LocalRuntime, RuntimeOptions

ENV = "dev"  # the env the e2e tests run; bench.cost prices prod's memory with these durations
SENDERS = 4
log = logging.getLogger("bench.local_e2e")


@dataclass
class FunctionUse:
    """What one function did during the run, as its pool's parent saw it."""

    invokes: int = 0
    records: int = 0  # SQS records (one per invoke for API and schedule events)
    seconds: float = 0.0  # summed invoke time, pipe round trip included
    log_bytes: int = 0  # what its processes wrote at dev's level (DEBUG)
    log_bytes_kept: int = 0  # of those, the lines at INFO and above: what prod's level keeps
    api_invokes: int = 0  # invokes with an API Gateway event: behind the REST API (and WAF)
    architectures: tuple[str, ...] = ()  # as the template sets them

    @property
    def ms_per_record(self) -> float:
        return 1000 * self.seconds / self.records if self.records else 0.0

    @property
    def log_bytes_per_record(self) -> float:
        return self.log_bytes / self.records if self.records else 0.0

    @property
    def kept_log_bytes_per_record(self) -> float:
        return self.log_bytes_kept / self.records if self.records else 0.0


@dataclass
class Observed:
    sections: list[Section]
    functions: dict[str, FunctionUse] = field(default_factory=dict)  # logical id base name
    # What was sent while `functions` were timed, per pipeline: order webhooks, ERP webhooks,
    # catalog products. Records a function handled per one of these is what bench.cost bills.
    sent: dict[str, int] = field(default_factory=dict)


def base_name(logical_id: str) -> str:
    """`IngestFunctionB02ED0EB` -> `IngestFunction`: the same in every env's template."""
    return logical_id[:-8] if len(logical_id) > 8 else logical_id


def _instrument(runtime: LocalRuntime) -> dict[str, FunctionUse]:
    """Time every invoke: the pollers, the API and the schedules call `pool.invoke`."""
    uses: dict[str, FunctionUse] = {}
    lock = threading.Lock()
    functions = runtime.template.resources("AWS::Lambda::Function")
    for logical_id, pool in runtime.parts.functions.items():
        properties = functions[logical_id]["Properties"]
        use = uses.setdefault(base_name(logical_id), FunctionUse())
        use.architectures = tuple(properties.get("Architectures", ["x86_64"]))

        def timed(event: dict[str, Any], _invoke: Any = pool.invoke, _use: Any = use) -> Any:
            if event.get("httpMethod") == "GET":  # the bench following progress: no cost of
                return _invoke(event)  # the pipeline's
            started = time.perf_counter()
            try:
                return _invoke(event)
            finally:
                with lock:
                    _use.invokes += 1
                    _use.records += len(event.get("Records") or [None])
                    _use.api_invokes += "httpMethod" in event
                    _use.seconds += time.perf_counter() - started

        pool.invoke = timed  # type: ignore[method-assign]
    return uses


def _log_sizes(runtime: LocalRuntime) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for logical_id, pool in runtime.parts.functions.items():
        path = pool.spec.log_file
        sizes[base_name(logical_id)] = path.stat().st_size if path.exists() else 0
    return sizes


def _written_since(runtime: LocalRuntime, before: dict[str, int]) -> dict[str, list[bytes]]:
    """The log lines each function wrote after `before` (its files' sizes then)."""
    lines: dict[str, list[bytes]] = {}
    for logical_id, pool in runtime.parts.functions.items():
        name, path = base_name(logical_id), pool.spec.log_file
        if not path.exists():
            lines[name] = []
            continue
        with path.open("rb") as log_file:
            log_file.seek(before.get(name, 0))
            lines[name] = log_file.read().splitlines(keepends=True)
    return lines


def _rate(count: int, work: Callable[[int], Any]) -> float:
    """`count` units of `work` by SENDERS threads: units per second, wall clock."""
    with ThreadPoolExecutor(SENDERS) as pool:
        started = time.perf_counter()
        list(pool.map(work, range(count)))
        return count / (time.perf_counter() - started)


def _throughput(
    runtime: LocalRuntime,
    traffic: Traffic,
    scratch: bare.Scratch,
    ingest: bare.Plan | None,
    n: int,
) -> list[Row]:
    """The ingest's rate with the download mapping paused (the ingest alone, as its bare floor
    runs) and with the pipeline draining behind it, each against the floor."""
    rounds = 3 if n >= 100 else 1
    accepted: list[float] = []
    alone: list[float] = []
    floors: list[float] = []
    # Warm: every execution environment the senders will use started (cold starts are
    # bench.cold_start's), every client pool connected.
    _rate(2 * SENDERS, lambda _: traffic.accepted_order())
    if ingest is not None:
        _rate(2 * SENDERS, lambda _: bare.issue(scratch, ingest.calls))
    for _ in range(rounds):  # alternated, so drift on a shared machine hits all alike
        traffic.wait_processed(traffic.sent_orders)  # each starts on an idle pipeline
        if ingest is not None:
            floors.append(_rate(n, lambda _: bare.issue(scratch, ingest.calls)))
        with _paused(runtime, "/DownloadQueue/"):
            alone.append(_rate(n, lambda _: traffic.accepted_order()))
        traffic.wait_processed(traffic.sent_orders)
        accepted.append(_rate(n, lambda _: traffic.accepted_order()))
    floor = statistics.median(floors) if floors else None
    name = f"ingest: signed order webhooks accepted, {SENDERS} senders"
    return [  # like for like first: the floor too runs with the pipeline idle
        _rate_row(f"{name}, the download mapping paused", statistics.median(alone), floor),
        _rate_row(f"{name}, the pipeline draining behind", statistics.median(accepted), floor),
    ]


def _rate_row(name: str, value: float, floor: float | None) -> Row:
    return Row(
        name=name,
        value=value,
        unit="webhooks/s",
        floor=floor,
        floor_name="the ingest's AWS calls, bare, same concurrency" if floor else None,
        ratio=value / floor if floor else None,
    )


@contextmanager
def _paused(runtime: LocalRuntime, queue_part: str) -> Iterator[None]:
    """The mappings of the queue whose path holds `queue_part` paused (its poller receives
    nothing), as `ops breaker open` pauses them; enabled again after."""
    uuids = [
        m.uuid
        for m in mappings_from(runtime.template)
        if queue_part in runtime.template.path_of(m.queue_logical_id)
    ]
    for uuid_ in uuids:
        runtime.mapping_states.set_enabled(uuid_, False)
    try:
        yield
    finally:
        for uuid_ in uuids:
            runtime.mapping_states.set_enabled(uuid_, True)


def _windows(runtime: LocalRuntime) -> float:
    """The batching windows of the download and processing mappings: Lambda waits them too."""
    return sum(
        m.batching_window_seconds
        for m in mappings_from(runtime.template)
        if any(part in runtime.template.path_of(m.queue_logical_id) for part in bare.ORDER_QUEUES)
    )


def _bare_path(traffic: Traffic, scratch: bare.Scratch, quick: bool) -> float | None:
    """Seconds of the work an order's path cannot avoid beyond its waits: the download and
    processing stages' bare calls and a peer round trip each (median of 5)."""
    planned = [bare.stage_plan(stage, quick) for stage in ("download", "processing")]
    stages = [p for p in planned if p is not None]
    if len(stages) < len(planned):
        return None
    samples = []
    for _ in range(5):
        started = time.perf_counter()
        key = uuid.uuid4().hex
        for stage in stages:
            bare.issue(scratch, stage.calls, key)
            traffic.peer_round_trip()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _latency_row(name: str, value: float, floor: float | None, floor_name: str) -> Row:
    return Row(
        name=name,
        value=1000 * value,
        unit="ms",
        floor=1000 * floor if floor is not None else None,
        floor_name=floor_name if floor is not None else None,
        ratio=value / floor if floor else None,
    )


def _latency_rows(latencies: list[float], windows: float, work: float | None) -> list[Row]:
    ordered = sorted(latencies)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    floor = windows + work if work is not None else None
    both = "batching windows + the stages' bare calls + 2 peer round trips"
    name = "order webhook 202 → PROCESSED"
    return [
        _latency_row(f"{name}, median of {len(ordered)}", median, floor, both),
        _latency_row(f"{name}, p95 of {len(ordered)}", p95, floor, both),
        _latency_row(
            f"{name}, median beyond the {windows:g} s of batching windows",
            median - windows,
            work,
            "the stages' bare calls + 2 peer round trips",
        ),
    ]


def _reset(uses: dict[str, FunctionUse]) -> None:
    for use in uses.values():
        use.invokes = use.records = use.api_invokes = 0
        use.seconds = 0.0


def _measure(runtime: LocalRuntime, quick: bool) -> Observed:
    uses = _instrument(runtime)
    traffic = Traffic(runtime)
    scratch = bare.Scratch(*(runtime.client(s, max_pool_connections=32) for s in bare.SERVICES))
    scratch.create()
    ingest = bare.stage_plan("ingest", quick)
    throughput = _throughput(runtime, traffic, scratch, ingest, 12 if quick else 150)
    traffic.wait_processed(traffic.sent_orders)  # the burst drained before latency is timed
    traffic.other_pipelines(erp=1, products=20)  # their first invokes: cold starts, not costs
    # Invoke times for bench.cost from here on: one unit at a time, not contended by a burst.
    _reset(uses)
    before = _log_sizes(runtime)
    latencies = [traffic.order_latency() for _ in range(2 if quick else 20)]
    latency = _latency_rows(latencies, _windows(runtime), _bare_path(traffic, scratch, quick))
    erp, products = (2, 20) if quick else (10, 60)
    traffic.other_pipelines(erp=erp, products=products)
    written = _written_since(runtime, before)
    for name, use in uses.items():
        use.log_bytes = sum(map(len, written.get(name, [])))
        use.log_bytes_kept = kept_bytes(written.get(name, []))
    sent = {"orders": len(latencies), "erp": erp, "catalog": products}
    return Observed([_section(throughput, latency, ingest, quick)], uses, sent)


def _section(
    throughput: list[Row], latency: list[Row], ingest: bare.Plan | None, quick: bool
) -> Section:
    notes = [
        f"The local runtime runs in the bench's process ({ENV} config); its functions run in "
        "their own processes; moto server is one more process. On a 2-core machine everything "
        "competes for the same cores, so these are ratios to quote, not absolute rates.",
        "The ingest is measured twice a round: with the download and processing workers "
        "draining the queue on the same cores, and with the download mapping paused (its "
        "poller receives nothing, as when `ops breaker open` pauses it), as the bare floor "
        "runs; the queue drains once the mapping is enabled again. Each measurement starts "
        "on an idle pipeline (every webhook sent so far PROCESSED).",
    ]
    if ingest is None:
        notes.append("No floor: bench.calls (the ingest's counted calls) is not available.")
    else:
        notes.append(f"Bare ingest calls per webhook: {ingest.issued}.")
        if ingest.not_issued:
            notes.append(f"Counted but not issued bare (no bare form): {ingest.not_issued}.")
    notes.append(
        "Latency: from the 202's arrival to the PROCESSED entry's time in the event's history, "
        "one webhook at a time, on an idle pipeline. The batching windows of the two mappings "
        "(MaximumBatchingWindowInSeconds, waited by Lambda too) are most of it: the last row "
        "sets them aside and compares what is left with the bare work of the two stages."
    )
    if quick:
        notes.append("Quick mode: 12 webhooks, 2 latencies: a smoke, not a figure to quote.")
    return Section(
        key="local_e2e",
        title="Local end to end",
        method=f"{SENDERS} threads POST signed order webhooks to the local API (median of 3 "
        "rounds, alternated with the floor); latency is timed one webhook at a time.",
        rows=[*throughput, *latency],
        notes=notes,
    )


@cache
def observed(quick: bool = False) -> Observed:
    """One run of the local runtime, shared by `measure` and `bench.cost` in one bench run."""
    # Counted first: bench.calls drives the handlers under moto's in-process mock, which
    # would also catch the runtime's own boto3 calls if the runtime were up.
    bare.counted_usage(quick)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as state:
        options = RuntimeOptions(env=ENV, state_dir=Path(state))
        with LocalRuntime(options) as runtime:
            return _measure(runtime, quick)


def measure(quick: bool = False) -> list[Section]:
    return observed(quick).sections
