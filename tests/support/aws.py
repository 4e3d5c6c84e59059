"""The pipeline's AWS resources on moto, and each function's environment pointing at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "us-east-1"
# Every test stage retries on this schedule (the worker's RETRY_SCHEDULE): 3 receives in all.
RETRY_DELAYS_SECONDS = (1, 2)
MAX_RECEIVE_COUNT = len(RETRY_DELAYS_SECONDS) + 1
STUCK_AFTER_MINUTES = 30
ERP_KEY = "erp-key-current"  # test values, not real keys
ERP_OLD_KEY = "erp-key-previous"
PROVIDER_KEY = "provider-key-for-tests"  # a test value, not a real key


@dataclass(frozen=True)
class QueuePair:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class Resources:
    events_table: str
    idempotency_table: str
    bucket: str
    download: QueuePair
    processing: QueuePair
    signing_secret_name: str
    token_secret_name: str
    erp_lanes: dict[str, QueuePair]
    erp_keys_secret_name: str
    enrichment: QueuePair


def _queue_pair(sqs: Any, name: str) -> QueuePair:
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return QueuePair(url=url, arn=arn, dlq_url=dlq_url, dlq_arn=dlq_arn)


def _table(
    dynamodb: Any,
    name: str,
    partition: str,
    sort: str | None = None,
    indexes: dict[str, tuple[str, str]] | None = None,
) -> None:
    """An on-demand table with string keys, as the stack defines it."""
    keys = [(partition, "HASH")] + ([(sort, "RANGE")] if sort else [])
    attributes = {partition, *([sort] if sort else [])}
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": a, "KeyType": k} for a, k in keys],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        arguments["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    {"AttributeName": range_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (hash_key, range_key) in indexes.items()
        ]
        attributes |= {a for pair in indexes.values() for a in pair}
    arguments["AttributeDefinitions"] = [
        {"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)
    ]
    dynamodb.create_table(**arguments)


def create_resources(signing_secret: str, token: str) -> Resources:
    """Tables, queues (with redrive), a versioned bucket and the two secrets."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    _table(dynamodb, "idempotency", "id")
    _table(dynamodb, "events", "event_id",
           indexes={"by-status": ("status", "received_at"),
                    "by-pipeline": ("pipeline", "received_at")})  # fmt: skip
    _table(dynamodb, "entities", "entity_type", "entity_id")
    _table(dynamodb, "enrichments", "catalog_id", "batch_id",
           indexes={"by-user": ("user_id", "created_at")})  # fmt: skip
    _table(dynamodb, "products", "catalog_id", "product_id")
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="payloads")
    s3.put_bucket_versioning(Bucket="payloads", VersioningConfiguration={"Status": "Enabled"})
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="signing", SecretString=signing_secret)
    secrets.create_secret(Name="marketplace-token", SecretString=token)
    secrets.create_secret(Name="erp-webhook-keys", SecretString=f"{ERP_KEY} {ERP_OLD_KEY}")
    secrets.create_secret(Name="provider-api-key", SecretString=PROVIDER_KEY)
    sqs = boto3.client("sqs", region_name=REGION)
    return Resources(
        events_table="events",
        idempotency_table="idempotency",
        bucket="payloads",
        download=_queue_pair(sqs, "download"),
        processing=_queue_pair(sqs, "processing"),
        signing_secret_name="signing",
        token_secret_name="marketplace-token",
        erp_lanes={lane: _queue_pair(sqs, f"erp-{lane}") for lane in ("high", "standard", "low")},
        erp_keys_secret_name="erp-webhook-keys",
        enrichment=_queue_pair(sqs, "enrichment"),
    )


def stage_queues(resources: Resources) -> dict[str, QueuePair]:
    """Every queue pair by the stage name operators use, as the stack names them."""
    return {
        "download": resources.download,
        "processing": resources.processing,
        **{f"erp-{lane}": pair for lane, pair in resources.erp_lanes.items()},
        "enrichment": resources.enrichment,
    }


def function_environment(
    resources: Resources, *, marketplace_url: str, internal_url: str, provider_url: str
) -> dict[str, str]:
    """The union of the functions' env vars, as the stack sets them (names, not secrets)."""
    http_client = {
        "connect_timeout_seconds": 1,
        "read_timeout_seconds": 2,
        "max_retries": 1,
        "backoff_factor_seconds": 0,
        "max_retry_after_seconds": 0,
        "pool_size": 4,
    }
    return {
        "EVENTS_TABLE_NAME": resources.events_table,
        "IDEMPOTENCY_TABLE_NAME": resources.idempotency_table,
        "DOWNLOAD_QUEUE_URL": resources.download.url,
        "PROCESSING_QUEUE_URL": resources.processing.url,
        "PAYLOAD_BUCKET_NAME": resources.bucket,
        "WEBHOOK_SECRET_NAME": resources.signing_secret_name,
        "MARKETPLACE_TOKEN_SECRET_NAME": resources.token_secret_name,
        "MARKETPLACE_API_BASE_URL": marketplace_url,
        "INTERNAL_API_BASE_URL": internal_url,
        "DOWNLOAD_DLQ_URL": resources.download.dlq_url,
        "PROCESSING_DLQ_URL": resources.processing.dlq_url,
        "RETRY_SCHEDULE": json.dumps(
            {
                "delays_seconds": RETRY_DELAYS_SECONDS,
                "jitter_ratio": 0.2,
                "max_delay_seconds": 43000,
            }
        ),
        "MAX_BODY_BYTES": "8192",
        # Wide, so that the fixed event times of the tests' documents stay plausible for years;
        # the window itself is tested with times relative to now.
        "EVENT_TIME_WINDOW": json.dumps({"max_future_seconds": 300, "max_age_days": 3650}),
        "HTTP_CLIENT": json.dumps(http_client),
        "WEBHOOK_KEYS_SECRET_NAME": resources.erp_keys_secret_name,
        "LANE_QUEUE_URLS": json.dumps({lane: q.url for lane, q in resources.erp_lanes.items()}),
        "ENTITIES_TABLE_NAME": "entities",
        "ERP_LANES": json.dumps(
            {
                lane: {"url": q.url, "arn": q.arn, "dlq_url": q.dlq_url, "dlq_arn": q.dlq_arn}
                for lane, q in resources.erp_lanes.items()
            }
        ),
        "QUEUES": json.dumps(
            {
                stage: {"url": q.url, "arn": q.arn, "dlq_url": q.dlq_url, "dlq_arn": q.dlq_arn}
                for stage, q in stage_queues(resources).items()
            }
        ),
        "STUCK_AFTER_MINUTES": str(STUCK_AFTER_MINUTES),
        "ENRICHMENT_TABLE_NAME": "enrichments",
        "PRODUCTS_TABLE_NAME": "products",
        "ENRICHMENT_QUEUE_URL": resources.enrichment.url,
        "ENRICHMENT_DLQ_URL": resources.enrichment.dlq_url,
        "PROVIDER_API_BASE_URL": provider_url,
        "PROVIDER_KEY_SECRET_NAME": "provider-api-key",
        "DEFAULT_BATCH_SIZE": "20",
        "MAX_PRODUCTS": "10000",
    }
