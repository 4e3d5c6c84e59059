"""boto3 clients, created once per container with explicit timeouts, retries and pool size.

Factories rather than bare module globals so that tests can start moto before the first client.
`AWS_ENDPOINT_URL` (boto3's own setting) points every client at a local emulator when set.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_sqs.client import SQSClient

# No client-side parameter check: DynamoDB, S3 and SQS check every request themselves, and the
# check was ~15 % of a call's CPU, spent one thread at a time in a batch (bench: batches). The
# tests turn it back on (tests/conftest.py), so that a malformed call still fails there.
BOTO_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=25,
    tcp_keepalive=True,
    parameter_validation=False,
)


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    return boto3.client("sqs", config=BOTO_CONFIG)


@lru_cache(maxsize=1)
def s3() -> S3Client:
    return boto3.client("s3", config=BOTO_CONFIG)


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    """The low-level client, no resource: the stores convert their items themselves
    (`shared.item_table`), as Powertools' idempotency does."""
    return boto3.client("dynamodb", config=BOTO_CONFIG)


@lru_cache(maxsize=1)
def secretsmanager() -> SecretsManagerClient:
    return boto3.client("secretsmanager", config=BOTO_CONFIG)


def reset() -> None:
    """Forget every client (tests start a fresh emulator per test)."""
    for factory in (sqs, s3, dynamodb_client, secretsmanager):
        factory.cache_clear()
