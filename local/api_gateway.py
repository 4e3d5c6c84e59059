"""The template's REST API on 127.0.0.1: routes from its resources and methods, Lambda proxy events.

IAM authorization is not enforced locally (the server listens on loopback only). Errors the
gateway itself answers use the template's gateway response templates.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.functions import FunctionWorker, InvocationError
from local.lambda_events import api_gateway_event
from local.template import StackTemplate

log = logging.getLogger("local.api")


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


class LocalApi:
    def __init__(
        self,
        template: StackTemplate,
        routes: list[Route],
        functions: dict[str, FunctionWorker],
    ) -> None:
        self.routes = routes
        self._functions = functions
        stages = template.resources("AWS::ApiGateway::Stage").values()
        self.stage = next((str(s["Properties"]["StageName"]) for s in stages), "local")
        self._gateway_templates = {
            r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"][
                "application/json"
            ]
            for r in template.resources("AWS::ApiGateway::GatewayResponse").values()
        }
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.stage}/"

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

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                url = urlsplit(self.path)
                path = url.path
                prefix = f"/{api.stage}"
                if path == prefix or path.startswith(prefix + "/"):
                    path = path[len(prefix) :] or "/"
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                matched = api.match(self.command, path)
                if matched is None:
                    status, payload = api.gateway_error(
                        403, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"
                    )
                    self._send(status, [("Content-Type", "application/json")], payload)
                    return
                route, parameters = matched
                event = api_gateway_event(
                    method=self.command,
                    path=path,
                    resource=route.resource,
                    stage=api.stage,
                    headers=list(self.headers.items()),
                    query=parse_qsl(url.query, keep_blank_values=True),
                    path_parameters=parameters,
                    body=body,
                    source_ip=self.client_address[0],
                )
                try:
                    response = api._functions[route.function_logical_id].invoke(event)
                    status, headers, payload = _proxy_response(response)
                except InvocationError as exc:
                    log.warning("%s %s: %s", self.command, path, exc)
                    if exc.kind == "timeout":
                        status, payload = api.gateway_error(
                            504, "INTEGRATION_TIMEOUT", "Endpoint request timed out"
                        )
                    else:
                        status, payload = api.gateway_error(
                            502, "INTEGRATION_FAILURE", "Internal server error"
                        )
                    headers = [("Content-Type", "application/json")]
                self._send(status, headers, payload)

            def _send(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

            def log_message(self, *_: Any) -> None:
                return

        return Handler


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
