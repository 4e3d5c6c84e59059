"""The business metrics on the dashboard, as one table of charts, and the alarmed ones.

Every metric is a `shared.metric_names.Metric`, the list the functions emit from, so a renamed
metric cannot leave a chart or an alarm watching nothing (tests/infra checks that every member
is charted and every alarm's metric is a member).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_monitoring_constructs import CustomMetricGroup, CustomMetricWithAlarm, CustomThreshold

from infra.constructs.metric_watch import MetricWatch
from infra.constructs.monitoring.runbook import Runbook
from shared.metric_names import Metric

FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True)
class Series:
    """`metric` over its `dimensions` (EMF metrics carry the `service` dimension), summed into
    one line, or with `each`, one line per series (per reason, per entity...)."""

    metric: Metric
    label: str
    dimensions: str = "service"
    statistic: str = "Sum"
    each: bool = False

    def expression(self, namespace: str) -> cloudwatch.MathExpression:
        search = (
            f"SEARCH('{{{namespace},{self.dimensions}}} MetricName=\"{self.metric}\"', "
            f"'{self.statistic}', 300)"
        )
        return cloudwatch.MathExpression(
            expression=search if self.each else f"SUM({search})",
            label=self.label,
            period=FIVE_MINUTES,
        )


def _latency(metric: Metric, percentile: str) -> Series:
    return Series(metric, percentile, statistic=percentile, each=True)


CHARTS: tuple[tuple[str, tuple[Series, ...]], ...] = (
    ("Webhooks", (
        Series(Metric.WEBHOOK_ACCEPTED, "accepted"),
        Series(Metric.WEBHOOK_DUPLICATE, "duplicates"),
    )),
    ("Rejected by reason", (
        Series(Metric.WEBHOOK_REJECTED, "rejected", "reason,service", each=True),
    )),
    ("Marketplace orders", (
        Series(Metric.ORDER_DOWNLOADED, "downloaded"),
        Series(Metric.ORDER_PROCESSED, "processed"),
        Series(Metric.ORDER_DEAD_LETTERED, "dead-lettered"),
    )),
    ("ERP entity sync", (
        Series(Metric.ERP_EVENT_ACCEPTED, "accepted", "entity,service"),
        Series(Metric.ERP_EVENT_DUPLICATE, "duplicates"),
        Series(Metric.ERP_EVENT_REJECTED, "rejected", "reason,service"),
        Series(Metric.ERP_EVENT_RETRIED, "retried"),
        Series(Metric.ERP_STALE_IGNORED, "stale ignored"),
        Series(Metric.ERP_EVENT_DEAD_LETTERED, "dead-lettered"),
    )),
    ("ERP synced by entity", (
        Series(Metric.ERP_EVENT_SYNCED, "synced", "entity,service", each=True),
    )),
    ("Catalog enrichment", (
        Series(Metric.ENRICHMENT_REQUESTED, "requested"),
        Series(Metric.ENRICHMENT_PRODUCTS_SUCCEEDED, "products enriched"),
        Series(Metric.ENRICHMENT_PRODUCTS_FAILED, "products failed"),
        Series(Metric.ENRICHMENT_BATCH_FINISHED, "batches finished"),
        Series(Metric.ENRICHMENT_BATCH_FAILED, "batches failed"),
    )),
    ("Enrichment requests rejected by reason", (
        Series(Metric.ENRICHMENT_REQUEST_REJECTED, "rejected", "reason,service", each=True),
    )),
    ("Enrichment batches retried", (
        Series(Metric.ENRICHMENT_BATCH_RETRIED, "retried"),
        Series(Metric.ENRICHMENT_BATCH_DEAD_LETTERED, "dead-lettered"),
    )),
    # Per lookup, as the enrichment worker times each call to the provider (retries included).
    ("Provider latency (ms)", tuple(
        _latency(Metric.PROVIDER_LATENCY, p) for p in ("p50", "p95", "p99")
    )),
    ("Stuck events", (
        Series(Metric.STUCK_EVENTS, "stuck"),
        Series(Metric.STUCK_EVENTS_REQUEUED, "re-enqueued"),
    )),
)  # fmt: skip


def business_metric_groups(namespace: str) -> list[CustomMetricGroup]:
    return [
        CustomMetricGroup(title=title, metrics=[s.expression(namespace) for s in series])
        for title, series in CHARTS
    ]


def _watched(namespace: str, watch: MetricWatch) -> cloudwatch.Metric | cloudwatch.MathExpression:
    def metric(name: Metric, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name.value,
            dimensions_map={"service": watch.function.name},
            statistic=statistic,
            period=watch.period,
            label=name.value,
        )

    if watch.per is None:
        return metric(watch.metric, watch.statistic)
    return cloudwatch.MathExpression(
        expression="IF(total > 0, 100 * part / total, 0)",
        using_metrics={"part": metric(watch.metric, "Sum"), "total": metric(watch.per, "Sum")},
        period=watch.period,
        label=watch.label,
    )


def watched_metric_groups(
    namespace: str, runbook: Runbook, watches: Sequence[MetricWatch]
) -> list[CustomMetricGroup]:
    """One chart per watch, its alarm on it."""
    return [
        CustomMetricGroup(
            title=watch.label,
            metrics=[
                CustomMetricWithAlarm(
                    alarm_friendly_name=watch.metric.value,
                    metric=_watched(namespace, watch),
                    add_alarm={
                        "Critical": CustomThreshold(
                            threshold=watch.max_value,
                            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                            # No data: the function did not report, not a breach.
                            treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                            **runbook.describe(
                                watch.meaning, watch.first_action, watch.runbook_section
                            ),
                        )
                    },
                )
            ],
        )
        for watch in watches
    ]
