"""The order pipeline's own store: raw order payloads in S3, stored and read back with a SHA-256
checksum. (Its events are in the shared events table, `shared.event_store`.)"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from shared import aws_clients
from shared.errors import NonRetryableError
from shared.sources import Source


class ChecksumMismatchError(NonRetryableError):
    pass


@dataclass(frozen=True)
class StoredPayload:
    key: str
    version_id: str | None
    sha256: str


def payload_key(order_id: str, event_id: str) -> str:
    return f"{Source.MARKETPLACE.value}/orders/{order_id}/{event_id}.json"


class PayloadStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, body: bytes) -> StoredPayload:
        digest = hashlib.sha256(body)
        # S3 verifies the upload against the checksum we send, and stores it with the object.
        response = aws_clients.s3().put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
            Metadata={"sha256": digest.hexdigest()},
        )
        return StoredPayload(
            key=key, version_id=response.get("VersionId"), sha256=digest.hexdigest()
        )

    def get_verified(self, key: str, version_id: str | None, expected_sha256: str) -> bytes:
        s3 = aws_clients.s3()
        if version_id:
            response = s3.get_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        else:
            response = s3.get_object(Bucket=self._bucket, Key=key)
        body = response["Body"].read()
        actual = hashlib.sha256(body).hexdigest()
        if actual != expected_sha256:
            raise ChecksumMismatchError(
                f"s3://{self._bucket}/{key} has SHA-256 {actual}, expected {expected_sha256}"
            )
        return body
