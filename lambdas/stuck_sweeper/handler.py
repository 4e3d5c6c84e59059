"""Scheduled (EventBridge): re-enqueue stuck events once and report how many there are."""

from __future__ import annotations

import shared.startup

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from shared.event_store import EventStore
from shared.metric_names import Metric
from shared.metrics import record
from shared.observability import logger, metrics, tracer
from shared.queues import QueueRef
from shared.settings import EventsTableSettings, get_settings
from stuck_sweeper.sweep import sweep


class SweeperSettings(EventsTableSettings):
    queues: dict[str, QueueRef]  # stage name → its queue pair
    stuck_after_minutes: int = Field(ge=1)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001 - a schedule tick carries nothing to read
    settings = get_settings(SweeperSettings)
    report = sweep(
        EventStore(settings.events_table_name),
        settings.queues,
        now=datetime.now(UTC),
        stuck_after=timedelta(minutes=settings.stuck_after_minutes),
    )
    # Emitted on every run, zero included: a gap in the series means the sweeper did not run.
    record(Metric.STUCK_EVENTS, report.stuck, MetricUnit.Count)
    record(Metric.STUCK_EVENTS_REQUEUED, len(report.requeued), MetricUnit.Count)
    summary = {
        "stuck": report.stuck,
        "requeued": len(report.requeued),
        "still_stuck": len(report.still_stuck),
        "not_requeueable": len(report.not_requeueable),
        "failed": len(report.failed),
    }
    logger.info("sweep finished", extra=summary)
    return summary


shared.startup.loaded()  # last: every object of the cold start is built
