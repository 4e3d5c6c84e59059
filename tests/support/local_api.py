"""The local REST API (`local.api_gateway.LocalApi`) on a one-route template and a fake
function, and raw HTTP to it: what the API Gateway emulation tests drive."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from pathlib import Path
from typing import Any

from local.api_gateway import LocalApi, routes_from
from local.functions import InvocationError
from local.template import StackTemplate

# The shape of infra.constructs.rest_api.GATEWAY_ERROR_TEMPLATE (importing infra starts jsii).
ENVELOPE = (
    '{"status": "failure", "data": null, "error": {"code": "$context.error.responseType", '
    '"message": $context.error.messageString, "details": null}, '
    '"request_id": "$context.requestId"}'
)


FUNCTION_URI = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:stack-ingest/invocations"
)


READ_TIMEOUT = 0.5


def template(endpoint_type: str = "REGIONAL") -> StackTemplate:
    def gateway_response(kind: str) -> dict[str, Any]:
        return {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "ResponseType": kind,
                "ResponseTemplates": {"application/json": ENVELOPE},
            },
        }

    raw = {
        "Resources": {
            "Api": {
                "Type": "AWS::ApiGateway::RestApi",
                "Properties": {"EndpointConfiguration": {"Types": [endpoint_type]}},
            },
            "Webhooks": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {
                    "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                    "PathPart": "webhooks",
                },
            },
            "Qualia": {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"ParentId": {"Ref": "Webhooks"}, "PathPart": "qualia"},
            },
            "QualiaPost": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "POST",
                    "ResourceId": {"Ref": "Qualia"},
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "AWS_PROXY", "Uri": FUNCTION_URI},
                },
            },
            "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"StageName": "dev"}},
            "Default4xx": gateway_response("DEFAULT_4XX"),
            "Default5xx": gateway_response("DEFAULT_5XX"),
        }
    }
    return StackTemplate(raw, stack_name="stack", region="us-east-1")


class FakeFunction:
    """Answers 202 with what it was given; `fail` makes the next invokes crash."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail: str | None = None
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.events.append(event)
        if self.fail:
            raise InvocationError(self.fail, "the fake says so")
        body = {"body_length": len(event["body"] or ""), "headers": event["headers"]}
        return {"statusCode": 202, "headers": {"X-Fake": "yes"}, "body": json.dumps(body)}


def start_api(function: FakeFunction, tmp_path: Path, endpoint_type: str = "REGIONAL") -> LocalApi:
    stack = template(endpoint_type)
    api = LocalApi(
        stack,
        routes_from(stack, {"stack-ingest": "Ingest"}),
        {"Ingest": function},
        openapi_file=tmp_path / "openapi.json",
        read_timeout_seconds=READ_TIMEOUT,
    )
    api.start()
    return api


def address(api: LocalApi) -> tuple[str, int]:
    host, port = api.url.split("//", 1)[1].split("/", 1)[0].split(":")
    return host, int(port)


def exchange(api: LocalApi, data: bytes, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes (or the answer is complete)."""
    with socket.create_connection(address(api), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        length = int(headers.get("Content-Length", "0"))
        while len(body) < length and not data.startswith(b"HEAD"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def request(
    api: LocalApi,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*address(api), timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def error_code(body: bytes) -> str:
    envelope = json.loads(body)
    assert envelope["status"] == "failure"
    assert envelope["data"] is None
    assert envelope["request_id"]
    return str(envelope["error"]["code"])
