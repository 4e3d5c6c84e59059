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

from infra.config import SecretNames
from ops_cli.breaker import BreakerControl, BreakerError

DEFAULT_STATE_FILE = Path(".local/runtime.json")


class TargetError(Exception):
    """The environment cannot be reached or described."""


@dataclass(frozen=True)
class SmokeCredentials:
    signing_secret: str  # `whsec_...`: the newest of the order webhook's signing secrets
    erp_key: str  # the newest X-Webhook-Key


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

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> ApiAnswer:
        """One API call. `signed=False` for the public webhook routes, which authenticate the
        sender by its own signature or key, not by IAM."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"{self.api_url.rstrip('/')}/{path.lstrip('/')}{query}"
        sent = {"Accept": "application/json", **(headers or {})}
        if signed:
            sent = self._sign(method, url, sent, body)
        request = urllib.request.Request(  # noqa: S310 - the env's own API URL
            url, data=body, method=method, headers=sent
        )
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

    def _sign(
        self,
        method: str,  # noqa: ARG002 - signers use them
        url: str,  # noqa: ARG002
        headers: dict[str, str],
        body: bytes | None,  # noqa: ARG002
    ) -> dict[str, str]:
        return headers

    def smoke_credentials(self) -> SmokeCredentials:
        """The newest order signing secret and ERP key, as the smoke test signs with them."""
        raise TargetError(f"{self.label} has no webhook credentials to sign a ping with")

    def firing_alarms(self) -> list[dict[str, Any]] | None:
        """Alarms in ALARM state, or None where there are no alarms (locally)."""
        return None

    def breakers(self) -> BreakerControl:
        """The circuit breakers: their table and their stages' mappings."""
        raise TargetError(f"{self.label} has no circuit breakers")


class LocalTarget(Target):
    def __init__(self, state_file: Path) -> None:
        if not state_file.exists():
            raise TargetError(f"no local runtime: {state_file} is missing (start it: make local)")
        state = json.loads(state_file.read_text())
        self.api_url = state["api_url"]
        self.label = f"local ({state['stack']})"
        self._state = state

    def smoke_credentials(self) -> SmokeCredentials:
        return SmokeCredentials(
            signing_secret=self._state["signing_secrets"][0],
            erp_key=self._state["erp_webhook_keys"][0],
        )

    def breakers(self) -> BreakerControl:
        state = self._state
        local = {
            "region_name": state["region"],
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",  # the emulators accept any credentials
        }
        try:
            return BreakerControl.of(
                state.get("outputs") or {},
                boto3.client("dynamodb", endpoint_url=state["moto_endpoint"], **local),
                boto3.client("lambda", endpoint_url=state["lambda_endpoint"], **local),
            )
        except (BreakerError, KeyError) as exc:
            raise TargetError(f"{self.label}: {exc}") from exc


class DeployedTarget(Target):
    def __init__(
        self, env: str, session: Any | None = None, secret_names: SecretNames | None = None
    ) -> None:
        self._session = session or boto3.session.Session()
        self._secret_names = secret_names
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
        self._outputs = outputs
        self._region = self._session.region_name or "us-east-1"

    def smoke_credentials(self) -> SmokeCredentials:
        if self._secret_names is None:
            raise TargetError("the env's secret names are unknown (cdk.json)")
        secrets = self._session.client("secretsmanager")
        try:
            signing = secrets.get_secret_value(SecretId=self._secret_names.webhook_signing)
            keys = secrets.get_secret_value(SecretId=self._secret_names.erp_webhook_keys)
        except Exception as exc:
            raise TargetError(f"cannot read the webhook secrets to sign a ping: {exc}") from exc
        newest = str(signing["SecretString"]).split()[0]
        return SmokeCredentials(
            signing_secret=newest if newest.startswith("whsec_") else f"whsec_{newest}",
            erp_key=str(keys["SecretString"]).split()[0],
        )

    def _sign(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        credentials = self._session.get_credentials()
        if credentials is None:
            raise TargetError("no AWS credentials to sign the request with")
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(
            request
        )
        return dict(request.headers.items())

    def breakers(self) -> BreakerControl:
        try:
            return BreakerControl.of(
                self._outputs, self._session.client("dynamodb"), self._session.client("lambda")
            )
        except BreakerError as exc:
            raise TargetError(f"{self.label}: {exc}") from exc

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
