"""Business metrics (CloudWatch EMF). Safe to call from the worker threads of one batch.

Every name is a `shared.metric_names.Metric`: the dashboard and the alarms are built from the
same list, so a metric cannot be emitted under a name nothing watches.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shared.metric_names import Metric
from shared.observability import metrics

_lock = threading.Lock()


def count(name: Metric, **dimensions: str) -> None:
    """Add 1 to `name`. With dimensions it is emitted at once as its own EMF document, so that
    e.g. `WebhookRejected{reason=...}` does not force its dimension on the other metrics."""
    with _lock:
        if not dimensions:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
            return
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=1,
            namespace=metrics.namespace,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            for key, value in dimensions.items():
                metric.add_dimension(name=key, value=value)


def count_many(name: Metric, n: int) -> None:
    """Add `n` to `name` (e.g. the products of one batch)."""
    record(name, n, MetricUnit.Count)


def record(name: Metric, value: float, unit: MetricUnit = MetricUnit.Milliseconds) -> None:
    """Add one value of `name` (e.g. a latency); values of one invocation go out together."""
    with _lock:
        metrics.add_metric(name=name, unit=unit, value=value)
