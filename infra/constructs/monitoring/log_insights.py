"""What the dashboard and on-call read from the functions' logs: the latest errors widget and
the saved Logs Insights queries (runbook sections name them)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct


def latest_errors(log_groups: Sequence[logs.ILogGroup]) -> cloudwatch.LogQueryWidget:
    return cloudwatch.LogQueryWidget(
        title="Latest errors, all functions",
        log_group_names=[group.log_group_name for group in log_groups],
        query_lines=[
            "fields @timestamp, @log, message, error_code, reason, event_id, correlation_id",
            'filter level = "ERROR"',
            "sort @timestamp desc",
            "limit 50",
        ],
        width=24,
        height=8,
    )


QUERIES = {
    "follow-one-event": logs.QueryString(
        fields=["@timestamp", "@log", "level", "stage", "message", "event_id", "order_id",
                "correlation_id", "reason"],
        filter_statements=[
            'event_id = "EVENT_ID" or order_id = "ORDER_ID" or correlation_id = "CORRELATION_ID"'
        ],
        sort="@timestamp asc",
    ),
    "errors-by-5-minutes": logs.QueryString(
        filter_statements=['level = "ERROR"'],
        stats_statements=["count(*) as errors by bin(5m), @log"],
    ),
    "duration-per-function": logs.QueryString(
        filter_statements=['type = "platform.report"'],
        stats_statements=[
            "avg(record.metrics.durationMs) as avg_ms, max(record.metrics.durationMs) as "
            "max_ms, pct(record.metrics.durationMs, 95) as p95_ms by @log"
        ],
    ),
    "stuck-events": logs.QueryString(
        fields=["@timestamp", "message", "event_id", "pipeline", "status", "updated_at",
                "stage", "reason"],
        filter_statements=['message like /stuck event/'],
        sort="@timestamp desc",
    ),
    "rejected-webhooks-by-reason": logs.QueryString(
        filter_statements=['message = "webhook rejected"'],
        stats_statements=["count(*) as rejected by reason, error_code"],
    ),
}  # fmt: skip


def saved_queries(
    scope: Construct, prefix: str, log_groups: Sequence[logs.ILogGroup]
) -> list[logs.QueryDefinition]:
    """Each query as `<prefix>/<name>`, over every function's log group."""
    return [
        logs.QueryDefinition(
            scope,
            f"Query-{name}",
            query_definition_name=f"{prefix}/{name}",
            query_string=query,
            log_groups=list(log_groups),
        )
        for name, query in QUERIES.items()
    ]
