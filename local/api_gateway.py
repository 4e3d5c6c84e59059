"""The template's REST API on 127.0.0.1: routes from its resources and methods, Lambda proxy events.

IAM authorization is not enforced locally (the server listens on loopback only). What API
Gateway answers itself uses the template's gateway response templates (the project's envelope,
its `error.code` the gateway response type):

- an undefined resource or method (HEAD, OPTIONS, PUT... on a route that defines POST; a path
  outside the stage): 403 `MISSING_AUTHENTICATION_TOKEN`, as API Gateway REST answers;
- a body over API Gateway's 10 MB payload quota: 413 `REQUEST_TOO_LARGE`;
- a request target over the URL length quota (10240 characters for a REGIONAL API, 8192 for
  edge-optimized and private ones): 414, and header values over their 10240-byte quota
  together: 431, both `REQUEST_TOO_LARGE` (the gateway's only response type for a request over
  a size quota; the status says which part to shorten);
- a body shorter than its `Content-Length` (nothing more arrives within the read timeout) or a
  malformed one (a bad length, a bad chunk): 400 `BAD_REQUEST_BODY`;
- a function that crashed or answered badly: 502 `INTEGRATION_FAILURE`; one that timed out: 504
  `INTEGRATION_TIMEOUT`.

Header values reach the function as API Gateway passes them on: UTF-8 decoded where they are
UTF-8, otherwise one character per byte; the function decides what to make of them.
`GET /openapi.json` at the root (outside the stage) serves `docs/openapi.json` when it exists.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from local.functions import InvocationError
from local.http_server import (
    MIB,
    BoundedRequestHandler,
    Limits,
    LocalHTTPServer,
    RequestRefusedError,
)
from local.lambda_events import api_gateway_event
from local.template import StackTemplate

log = logging.getLogger("local.api")

# API Gateway REST quotas (Amazon API Gateway developer guide, "Quotas and important notes").
PAYLOAD_QUOTA_BYTES = 10 * MIB
HEADER_VALUES_QUOTA_BYTES = 10240
URL_QUOTA_BY_ENDPOINT_TYPE = {"REGIONAL": 10240, "EDGE": 8192, "PRIVATE": 8192}
READ_TIMEOUT_SECONDS = 10.0

# A refused request's gateway response type and message (None: the refusal's own message).
_REFUSED_AS: dict[str, tuple[str, str | None]] = {
    "body_too_large": ("REQUEST_TOO_LARGE", "Request Too Long"),
    "uri_too_long": ("REQUEST_TOO_LARGE", "Request-URI Too Long"),
    "headers_too_large": ("REQUEST_TOO_LARGE", None),
    "body_incomplete": ("BAD_REQUEST_BODY", None),
    "body_malformed": ("BAD_REQUEST_BODY", None),
}
_MISSING_TOKEN = (403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")


class Invocable(Protocol):
    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Route:
    method: str
    resource: str
    pattern: re.Pattern[str]
    function_logical_id: str
    authorization: str


def _resource_path(template: StackTemplate, reference: Any) -> str:
    if "Fn::GetAtt" in reference:  # the API's root resource
        return ""
    resource = template.raw["Resources"][reference["Ref"]]["Properties"]
    return f"{_resource_path(template, resource['ParentId'])}/{resource['PathPart']}"


def routes_from(template: StackTemplate, function_names: dict[str, str]) -> list[Route]:
    """`function_names`: physical function name → logical id."""
    routes = []
    for resource in template.resources("AWS::ApiGateway::Method").values():
        properties = resource["Properties"]
        integration = properties.get("Integration", {})
        if integration.get("Type") != "AWS_PROXY":
            continue
        uri = str(template.resolve(integration["Uri"]))
        name = re.search(r"function:([^/:]+)", uri)
        if not name or name.group(1) not in function_names:
            continue
        path = _resource_path(template, properties["ResourceId"]) or "/"
        regex = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        routes.append(
            Route(
                method=properties["HttpMethod"],
                resource=path,
                pattern=re.compile(f"^{regex}$"),
                function_logical_id=function_names[name.group(1)],
                authorization=properties.get("AuthorizationType", "NONE"),
            )
        )
    return routes


def url_quota(template: StackTemplate) -> int:
    """The URL length quota of the template's REST API, by its endpoint type (EDGE by default)."""
    quotas = [
        URL_QUOTA_BY_ENDPOINT_TYPE.get(str(kind), 8192)
        for api in template.resources("AWS::ApiGateway::RestApi").values()
        for kind in api["Properties"].get("EndpointConfiguration", {}).get("Types", ["EDGE"])
    ]
    return min(quotas, default=8192)


class LocalApi:
    def __init__(
        self,
        template: StackTemplate,
        routes: list[Route],
        functions: Mapping[str, Invocable],
        *,
        openapi_file: Path | None = None,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.routes = routes
        self.functions = functions
        self.openapi_file = openapi_file
        stages = template.resources("AWS::ApiGateway::Stage").values()
        self.stage = next((str(s["Properties"]["StageName"]) for s in stages), "local")
        self._gateway_templates = {
            r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"][
                "application/json"
            ]
            for r in template.resources("AWS::ApiGateway::GatewayResponse").values()
        }
        self.limits = Limits(
            read_timeout_seconds=read_timeout_seconds,
            max_target_length=url_quota(template),
            max_header_values_bytes=HEADER_VALUES_QUOTA_BYTES,
            max_head_bytes=64 * 1024,
            max_body_bytes=PAYLOAD_QUOTA_BYTES,
        )
        self._server = LocalHTTPServer(self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.stage}/"

    @property
    def listen_backlog(self) -> int:
        return int(self._server.request_queue_size)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, found.groupdict()
        return None

    def gateway_error(self, status: int, response_type: str, message: str) -> tuple[int, bytes]:
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        template = self._gateway_templates.get(response_type) or self._gateway_templates.get(family)
        if template is None:
            return status, json.dumps({"message": message}).encode()
        body = (
            template.replace("$context.error.responseType", response_type)
            .replace("$context.error.messageString", json.dumps(message))
            .replace("$context.requestId", str(uuid.uuid4()))
        )
        return status, body.encode()

    def _handler_class(self) -> type[BoundedRequestHandler]:
        return type("Handler", (_GatewayHandler,), {"api": self, "limits": self.limits})


class _GatewayHandler(BoundedRequestHandler):
    """One request as API Gateway REST would take it: its own answers first, then the route's
    function through a proxy event."""

    protocol_version = "HTTP/1.1"
    api: LocalApi

    def error_payload(self, error: RequestRefusedError) -> tuple[str, bytes]:
        response_type, message = _REFUSED_AS.get(error.kind, ("", None))
        if not response_type:
            response_type = "DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX"
        _, payload = self.api.gateway_error(error.status, response_type, message or error.message)
        return "application/json", payload

    def handle_request(self) -> None:
        try:
            self._route()
        except (RequestRefusedError, ConnectionError, TimeoutError):
            raise
        except Exception:
            log.exception("%s %s: unexpected error", self.command, self.path[:200])
            if self._responded:
                raise
            self._gateway(500, "DEFAULT_5XX", "Internal server error")

    def _route(self) -> None:
        url = urlsplit(self.path)
        body = self.read_body()
        if url.path == "/openapi.json" and self.command in ("GET", "HEAD"):
            self._openapi()
            return
        prefix = f"/{self.api.stage}"
        if url.path != prefix and not url.path.startswith(prefix + "/"):
            self._gateway(*_MISSING_TOKEN)  # no such stage
            return
        path = url.path[len(prefix) :] or "/"
        matched = self.api.match(self.command, path)
        if matched is None:
            self._gateway(*_MISSING_TOKEN)
            return
        route, parameters = matched
        event = api_gateway_event(
            method=self.command,
            path=path,
            resource=route.resource,
            stage=self.api.stage,
            headers=self.header_items(),
            query=parse_qsl(url.query, keep_blank_values=True),
            path_parameters=parameters,
            body=body,
            source_ip=self.client_address[0],
        )
        self._invoke(route, path, event)

    def _invoke(self, route: Route, path: str, event: dict[str, Any]) -> None:
        try:
            response = self.api.functions[route.function_logical_id].invoke(event)
            status, headers, payload = _proxy_response(response)
        except InvocationError as exc:
            log.warning("%s %s: %s", self.command, path, exc)
            if exc.kind == "timeout":
                self._gateway(504, "INTEGRATION_TIMEOUT", "Endpoint request timed out")
            else:
                self._gateway(502, "INTEGRATION_FAILURE", "Internal server error")
            return
        self.respond(status, headers, payload)

    def _openapi(self) -> None:
        document = self.api.openapi_file
        try:
            payload = document.read_bytes() if document is not None else None
        except OSError:
            payload = None
        if payload is None:
            self._gateway(404, "RESOURCE_NOT_FOUND", "openapi.json is not generated yet")
            return
        self.respond(200, [("Content-Type", "application/json")], payload)

    def _gateway(self, status: int, response_type: str, message: str) -> None:
        status, payload = self.api.gateway_error(status, response_type, message)
        self.respond(status, [("Content-Type", "application/json")], payload)


def _proxy_response(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A Lambda proxy response → status, headers, body (as API Gateway maps it)."""
    if not isinstance(response, dict) or "statusCode" not in response:
        raise InvocationError("error", "Malformed Lambda proxy response")
    headers: list[tuple[str, str]] = []
    multi = response.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, str(v)) for v in values)
    for name, value in (response.get("headers") or {}).items():
        if name not in multi:
            headers.append((name, str(value)))
    body = response.get("body") or ""
    payload = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    return int(response["statusCode"]), headers, payload
