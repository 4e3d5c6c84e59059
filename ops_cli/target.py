"""Where `ops` talks to: a deployed stack (SigV4-signed, names from its outputs) or the local
runtime (its runtime.json; IAM is not enforced there)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

DEFAULT_STATE_FILE = Path(".local/runtime.json")


class TargetError(Exception):
    """The environment cannot be reached or described."""


@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Target:
    api_url: str
    label: str

    def request(self, method: str, path: str, params: dict[str, str] | None = None) -> ApiAnswer:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"{self.api_url.rstrip('/')}/{path.lstrip('/')}{query}"
        headers = self._headers(method, url)
        request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return ApiAnswer(int(response.status), json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return ApiAnswer(int(error.code), json.loads(text))
            except ValueError:
                return ApiAnswer(
                    int(error.code), {"error": {"code": "HTTP", "message": text.decode()}}
                )
        except urllib.error.URLError as error:
            raise TargetError(f"{self.label}: cannot reach {url}: {error.reason}") from error

    def _headers(self, method: str, url: str) -> dict[str, str]:  # noqa: ARG002 - signers use them
        return {"Accept": "application/json"}

    def firing_alarms(self) -> list[dict[str, Any]] | None:
        """Alarms in ALARM state, or None where there are no alarms (locally)."""
        return None


class LocalTarget(Target):
    def __init__(self, state_file: Path) -> None:
        if not state_file.exists():
            raise TargetError(f"no local runtime: {state_file} is missing (start it: make local)")
        state = json.loads(state_file.read_text())
        self.api_url = state["api_url"]
        self.label = f"local ({state['stack']})"


class DeployedTarget(Target):
    def __init__(self, env: str, session: Any | None = None) -> None:
        self._session = session or boto3.session.Session()
        self.stack = f"WebhookPipeline-{env}"
        self.label = self.stack
        try:
            stacks = self._session.client("cloudformation").describe_stacks(StackName=self.stack)
        except Exception as exc:
            raise TargetError(f"cannot describe stack {self.stack}: {exc}") from exc
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks["Stacks"][0].get("Outputs", [])}
        if "ApiUrl" not in outputs:
            raise TargetError(f"stack {self.stack} has no ApiUrl output")
        self.api_url = outputs["ApiUrl"]
        self._region = self._session.region_name or "us-east-1"

    def _headers(self, method: str, url: str) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, headers={"Accept": "application/json"})
        credentials = self._session.get_credentials()
        if credentials is None:
            raise TargetError("no AWS credentials to sign the request with")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(
            request
        )
        return dict(request.headers.items())

    def firing_alarms(self) -> list[dict[str, Any]] | None:
        cloudwatch = self._session.client("cloudwatch")
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=f"{self.stack}-", StateValue="ALARM"
        )
        return [
            {
                "name": alarm["AlarmName"],
                "since": str(alarm.get("StateUpdatedTimestamp", "")),
                "reason": alarm.get("StateReason", ""),
            }
            for page in pages
            for alarm in page.get("MetricAlarms", [])
            if alarm.get("StateValue") == "ALARM"  # also filtered here: emulators ignore it
        ]
