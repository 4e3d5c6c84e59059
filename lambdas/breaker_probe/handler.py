"""Scheduled (EventBridge): probe every peer whose circuit breaker is open, close it when the
peer answers again, and report each breaker's state (`CircuitOpen`, the alarm's metric)."""

from __future__ import annotations

import shared.startup

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from breaker_probe.probe import Probe, peer_answers
from shared.breaker.circuit import emit
from shared.breaker.mappings import MappingSwitch
from shared.breaker.settings import ProbeTarget
from shared.breaker.store import BreakerStore
from shared.metric_names import Metric
from shared.observability import logger, metrics, tracer
from shared.settings import FunctionSettings, get_settings


class ProbeSettings(FunctionSettings):
    breaker_table_name: str
    breaker_targets: tuple[ProbeTarget, ...] = Field(min_length=1)
    probe_timeout_seconds: float = Field(gt=0, le=10)


@lru_cache(maxsize=1)
def _probe() -> Probe:
    settings = get_settings(ProbeSettings)
    timeout = settings.probe_timeout_seconds
    return Probe(
        store=BreakerStore(settings.breaker_table_name),
        switch=MappingSwitch(),
        answers=lambda target: peer_answers(target, timeout),
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001 - a schedule tick carries nothing to read
    targets = get_settings(ProbeSettings).breaker_targets
    results = _probe().tick(targets)
    for target, result in zip(targets, results, strict=True):
        emit(Metric.CIRCUIT_OPEN, target.peer, 1 if result.open else 0)
    return {"breakers": [r.__dict__ for r in results]}


shared.startup.loaded()  # last: every object of the cold start is built
