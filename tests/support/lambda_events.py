"""Lambda inputs as AWS builds them: API Gateway REST proxy events, SQS events, a context."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


class FakeLambdaContext(LambdaContext):
    """What the Lambda runtime passes as `context`, with a fixed remaining time."""

    def __init__(self, function_name: str = "test-function", timeout_seconds: int = 30) -> None:
        self._function_name = function_name
        self._function_version = "$LATEST"
        self._invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
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
    source_ip: str = "203.0.113.10",
) -> dict[str, Any]:
    text = body.decode() if isinstance(body, bytes) else body
    all_headers = headers or {}
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip},
            "accountId": "123456789012",
            "apiId": "local",
        },
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event from messages as `receive_message` returns them (all attributes asked)."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", "0"),
                    "SenderId": attributes.get("SenderId", "AIDAEXAMPLE"),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "dataType": value.get("DataType", "String"),
                        "stringListValues": [],
                        "binaryListValues": [],
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
