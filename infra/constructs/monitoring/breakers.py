"""The circuit breakers on the dashboard: per peer, whether it is open (alarmed), how often it
opened and how many records it parked.

`CircuitOpen` is the probe's gauge, reported every tick for every peer: the alarm is in ALARM
for as long as the breaker is open and clears when the probe closes it. Metric names and the
`peer` dimension are `shared.breaker.settings`'s, the ones the functions emit.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_monitoring_constructs import (
    CustomMetricGroup,
    CustomMetricWithAlarm,
    CustomThreshold,
    MonitoringFacade,
)

from infra.constructs.circuit_breaker import CircuitBreakers
from infra.constructs.monitoring.runbook import Runbook
from shared.breaker.settings import PEER_DIMENSION, Peer
from shared.metric_names import Metric

RUNBOOK_SECTION = "Circuit breaker open"
FIVE_MINUTES = Duration.minutes(5)


def _open(namespace: str, breakers: CircuitBreakers, peer: Peer) -> cloudwatch.Metric:
    every = Duration.minutes(breakers.probe_every_minutes)
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=Metric.CIRCUIT_OPEN.value,
        dimensions_map={"service": breakers.probe.name, PEER_DIMENSION: peer.value},
        statistic="Maximum",
        period=every,
        label=f"{peer.value} open",
    )


def _per_peer(namespace: str, metric: Metric, label: str) -> cloudwatch.MathExpression:
    search = (
        f"SEARCH('{{{namespace},{PEER_DIMENSION},service}} MetricName=\"{metric}\"', 'Sum', 300)"
    )
    return cloudwatch.MathExpression(expression=search, label=label, period=FIVE_MINUTES)


def monitor_breakers(
    facade: MonitoringFacade, namespace: str, runbook: Runbook, breakers: CircuitBreakers
) -> None:
    alarms = [
        CustomMetricWithAlarm(
            alarm_friendly_name=f"CircuitOpen-{stage.peer.value}",
            metric=_open(namespace, breakers, stage.peer),
            add_alarm={
                "Critical": CustomThreshold(
                    threshold=0,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    datapoints_to_alarm=1,
                    evaluation_periods=1,
                    # No data: the probe did not run (its own error alarm says so).
                    treat_missing_data_override=cloudwatch.TreatMissingData.NOT_BREACHING,
                    **runbook.describe(
                        f"The circuit breaker on {stage.peer.value} is open: "
                        f"{stage.worker.name} stopped polling its queue (its messages wait "
                        "there, none is dead-lettered) until the peer answers the probe again.",
                        f"`ops breaker status`, then check {stage.peer.value} itself.",
                        RUNBOOK_SECTION,
                    ),
                )
            },
        )
        for stage in breakers.guarded
    ]
    facade.monitor_custom(
        human_readable_name="Circuit breakers",
        alarm_friendly_name="Breakers",
        metric_groups=[
            CustomMetricGroup(title="Circuit open (1) per peer", metrics=alarms),
            CustomMetricGroup(
                title="Breaker opened / records parked",
                metrics=[
                    _per_peer(namespace, Metric.CIRCUIT_OPENED, "opened"),
                    _per_peer(namespace, Metric.CIRCUIT_PARKED, "parked"),
                ],
            ),
        ],
    )
