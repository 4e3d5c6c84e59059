"""A business metric a construct wants alarmed on. The construct lists it in its `watches`;
`PipelineMonitoring` builds the alarm through the same facade, actions and runbook links as
the rest."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration

from infra.constructs.pipeline_function import PipelineFunction
from shared.metric_names import Metric


@dataclass(frozen=True)
class MetricWatch:
    """Alarm when `statistic` of `metric`, as `function` emits it, exceeds `max_value`; with
    `per`, when `metric` as a percentage of the `per` metric does."""

    function: PipelineFunction
    metric: Metric
    statistic: str
    period: Duration
    max_value: float
    meaning: str
    first_action: str
    runbook_section: str
    per: Metric | None = None

    @property
    def label(self) -> str:
        return f"{self.metric} % of {self.per}" if self.per else self.metric.value
