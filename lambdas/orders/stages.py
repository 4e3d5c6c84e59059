"""The order pipeline's worker stages, by name: what each one is to the failure policy, the
queues and the monitoring. Their work is in `orders.download` and `orders.processing`, one module
each, so that a worker imports only its own stage (the processing models and the transform stay
out of the download worker's cold start).

- download: marketplace API → S3 (with SHA-256) → processing queue → DOWNLOADED.
- processing: S3 (checksum verified) → internal order model → internal API → PROCESSED.

A ping (`ops smoke`) passes both without calling the marketplace or the internal API.
"""

from __future__ import annotations

from orders.messages import DOWNLOAD_STAGE, PROCESSING_STAGE
from shared.failure_policy import Stage
from shared.metric_names import Metric
from shared.sources import Pipeline

DOWNLOAD = Stage(
    Pipeline.MARKETPLACE_ORDERS,
    DOWNLOAD_STAGE,
    dead_letter_metric=Metric.ORDER_DEAD_LETTERED,
    # What the stage records on the event when it is done: a redelivery finding it skips.
    done_marker="s3_key",
)
PROCESSING = Stage(
    Pipeline.MARKETPLACE_ORDERS, PROCESSING_STAGE, dead_letter_metric=Metric.ORDER_DEAD_LETTERED
)
