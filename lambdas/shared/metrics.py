"""Business metrics (CloudWatch EMF). Safe to call from the worker threads of one batch."""

from __future__ import annotations

import threading

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shared.observability import metrics

_lock = threading.Lock()


def count(name: str, **dimensions: str) -> None:
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


def record(name: str, value: float, unit: MetricUnit = MetricUnit.Milliseconds) -> None:
    """Add one value of `name` (e.g. a latency); values of one invocation go out together."""
    with _lock:
        metrics.add_metric(name=name, unit=unit, value=value)
