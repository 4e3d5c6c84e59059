"""What each part of the stack hands to monitoring, the sweeper and the ops API, explicitly:
its functions, its queue pairs and the business metrics it wants alarmed on. Nothing searches
the construct tree, so the order constructs are built in cannot hide one from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from infra.constructs.metric_watch import MetricWatch
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.queue_with_dlq import QueueWithDlq


class Monitored(Protocol):
    @property
    def functions(self) -> Sequence[PipelineFunction]: ...

    @property
    def queues(self) -> Sequence[QueueWithDlq]: ...

    @property
    def watches(self) -> Sequence[MetricWatch]: ...


def functions_of(parts: Sequence[Monitored]) -> list[PipelineFunction]:
    return [function for part in parts for function in part.functions]


def queues_of(parts: Sequence[Monitored]) -> list[QueueWithDlq]:
    return [queue for part in parts for queue in part.queues]


def watches_of(parts: Sequence[Monitored]) -> list[MetricWatch]:
    return [watch for part in parts for watch in part.watches]
