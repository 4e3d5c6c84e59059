"""An AWS error as botocore raises it from a service's answer: its code and HTTP status."""

from __future__ import annotations

from typing import Any, cast

from botocore.exceptions import ClientError


def aws_error(code: str, status: int, operation: str = "Query") -> ClientError:
    answer = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(cast(Any, answer), operation)
