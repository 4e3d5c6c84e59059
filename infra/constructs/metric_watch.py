"""A business metric a construct wants alarmed on. `PipelineMonitoring` finds every one in the
stack and builds the alarm through the same facade, actions and runbook links as the rest."""

from __future__ import annotations

from aws_cdk import Duration
from constructs import Construct

from infra.constructs.pipeline_function import PipelineFunction


class MetricWatch(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: PipelineFunction,
        metric_name: str,
        statistic: str,
        period: Duration,
        max_value: float,
        meaning: str,
        first_action: str,
        runbook_section: str,
        per: str | None = None,
    ) -> None:
        """Alarm when `statistic` of `metric_name`, as `function` emits it, exceeds `max_value`;
        with `per`, when `metric_name` as a percentage of the `per` metric does."""
        super().__init__(scope, construct_id)
        self.function = function
        self.metric_name = metric_name
        self.statistic = statistic
        self.period = period
        self.max_value = max_value
        self.meaning = meaning
        self.first_action = first_action
        self.runbook_section = runbook_section
        self.per = per

    @property
    def label(self) -> str:
        return f"{self.metric_name} % of {self.per}" if self.per else self.metric_name
