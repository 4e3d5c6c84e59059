"""Schemathesis hooks for `make fuzz`: every generated request is authenticated the way its route
expects, so generation reaches the handlers instead of stopping at 401.

The credentials are attached as a `requests` auth, which runs on the prepared request: it signs
the exact bytes that go on the wire. The order webhook gets a Standard Webhooks signature, the ERP
webhook the env's X-Webhook-Key, every IAM route a SigV4 signature (the local runtime does not
check it; a deployed API would). The secrets come from the local runtime's runtime.json
(`FUZZ_RUNTIME_STATE`).
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from standardwebhooks.webhooks import Webhook

_STATE = json.loads(Path(os.environ.get("FUZZ_RUNTIME_STATE", ".local/runtime.json")).read_text())
_CREDENTIALS = Credentials("local", "local")  # only the shape of a signature matters locally
_SIGV4_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


def _body(request: requests.PreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[arg-type]


class StandardWebhookSignature(requests.auth.AuthBase):
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        message_id, now = f"msg_fuzz_{uuid.uuid4().hex}", datetime.now(UTC)
        request.headers["webhook-id"] = message_id
        request.headers["webhook-timestamp"] = str(int(now.timestamp()))
        try:
            text = _body(request).decode()
        except UnicodeDecodeError:  # not UTF-8: nothing a sender could sign; refused unsigned
            return request
        request.headers["webhook-signature"] = self.webhook.sign(message_id, now, text)
        return request


class ErpWebhookKey(requests.auth.AuthBase):
    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Webhook-Key"] = self.key
        return request


class SigV4(requests.auth.AuthBase):
    def __init__(self, region: str) -> None:
        self.signer = SigV4Auth(_CREDENTIALS, "execute-api", region)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed = AWSRequest(method=request.method, url=request.url, data=_body(request), headers={})
        self.signer.add_auth(signed)
        for name in _SIGV4_HEADERS:
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        return request


_AUTH: dict[str, requests.auth.AuthBase] = {
    "/webhooks/qualia": StandardWebhookSignature(_STATE["signing_secrets"][0]),
    "/webhooks/zoho/{entity}": ErpWebhookKey(_STATE["erp_webhook_keys"][0]),
}
_IAM = SigV4(_STATE["region"])


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:  # noqa: ARG001
    kwargs["auth"] = _AUTH.get(case.operation.path, _IAM)
