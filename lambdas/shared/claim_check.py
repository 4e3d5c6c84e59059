"""Claim checks: a payload too large for a DynamoDB item (400 KB) or an SQS message (1 MiB)
lives in the payload bucket, and items and messages carry a `ClaimRef` to it instead.

The object is written once, with its SHA-256 (S3 verifies the upload against it), and is never
changed: every reader (the worker, a redriven message, a replay, the entity store) gets the same
bytes and checks them against the reference.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from shared import aws_clients
from shared.errors import NonRetryableError

# Larger than this, a payload is not kept inline in an item (DynamoDB: 400 KB an item, the event's
# other attributes included); the queue messages that carry it then stay far below SQS's 1 MiB.
INLINE_BYTES = 128 * 1024


class ClaimRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    bucket: str = Field(min_length=3)
    key: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ClaimCheckMismatchError(NonRetryableError):
    """The object is not the one the reference was made for: retrying reads the same bytes."""


def store(bucket: str, key: str, body: bytes) -> ClaimRef:
    digest = hashlib.sha256(body)
    aws_clients.s3().put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
    )
    return ClaimRef(bucket=bucket, key=key, sha256=digest.hexdigest(), size=len(body))


class ClaimMissingError(NonRetryableError):
    """The object is gone (deleted by hand): no retry brings it back; redrive once restored."""


def fetch(ref: ClaimRef | dict[str, Any]) -> bytes:
    claim = ref if isinstance(ref, ClaimRef) else ClaimRef.model_validate(ref)
    try:
        answer = aws_clients.s3().get_object(Bucket=claim.bucket, Key=claim.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise ClaimMissingError(f"s3://{claim.bucket}/{claim.key} does not exist") from exc
        raise
    body: bytes = answer["Body"].read()
    actual = hashlib.sha256(body).hexdigest()
    if actual != claim.sha256:
        raise ClaimCheckMismatchError(
            f"s3://{claim.bucket}/{claim.key} has SHA-256 {actual}, expected {claim.sha256}"
        )
    return body
