"""Lambda inputs for handler tests: the runtime's event builders with test defaults."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from local import lambda_events

REGION = "us-east-1"


class FakeLambdaContext(LambdaContext):
    """What the Lambda runtime passes as `context`, with a fixed remaining time."""

    def __init__(self, function_name: str = "test-function", timeout_seconds: int = 30) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:{REGION}:123456789012:function:{function_name}"
        )
        self._memory_limit_in_mb = 512
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function_name}"
        self._log_stream_name = "test"
        self._timeout_seconds = timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self._timeout_seconds * 1000


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    raw = body.encode() if isinstance(body, str) else (body or b"")
    return lambda_events.api_gateway_event(
        method=method,
        path=path,
        resource=resource or path,
        stage="dev",
        headers=list((headers or {}).items()),
        query=list((query or {}).items()),
        path_parameters=path_parameters,
        body=raw,
        source_ip=source_ip,
    )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return lambda_events.sqs_event(messages, queue_arn, REGION)


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
