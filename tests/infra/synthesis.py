"""Synthesizing an environment for the infra tests, and reading its template.

`Synth` names resources by construct path (`DataStores/EventsTable`), so tests say which
resource they mean the way the constructs do; `settings(env)` is the env's validated config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from app import build_app
from infra.config import ENVIRONMENTS_CONTEXT_KEY, EnvironmentSettings, load_settings

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "staging", "prod")


def cdk_context() -> dict[str, Any]:
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def settings(env: str) -> EnvironmentSettings:
    return load_settings(cdk_context()[ENVIRONMENTS_CONTEXT_KEY], env)


@dataclass(frozen=True)
class Synth:
    env: str
    template: Template
    raw: dict[str, Any]
    report: dict[str, Any]
    stack_tags: dict[str, str]
    termination_protection: bool
    identity: dict[str, Any]  # the env's deploy identity stack's template

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw["Resources"].items()
            if resource["Type"] == resource_type
        }

    def path_of(self, logical_id: str) -> str:
        """`DataStores/EventsTable` for the events table: the construct path, stack-relative."""
        metadata = self.raw["Resources"][logical_id].get("Metadata", {})
        path = str(metadata.get("aws:cdk:path", logical_id))
        parts = path.split("/")[1:]
        if parts and parts[-1] == "Resource":
            parts = parts[:-1]
        return "/".join(parts)

    def one(self, resource_type: str, path: str) -> dict[str, Any]:
        found = [r for i, r in self.resources(resource_type).items() if self.path_of(i) == path]
        assert len(found) == 1, f"{resource_type} at {path}: {len(found)} found"
        return found[0]

    def render(self, value: Any) -> str:
        """A resource reference as a readable string: `DataStores/EventsTable.Arn`."""
        if isinstance(value, str):
            return value
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return f"{self.path_of(logical_id)}.{attribute}"
        if "Ref" in value:
            ref = str(value["Ref"])
            return self.path_of(ref) if ref in self.raw["Resources"] else ref
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(self.render(part) for part in parts)
        return json.dumps(value, sort_keys=True)

    def environment_of(self, function_path: str) -> dict[str, Any]:
        """The function's environment variables."""
        function = self.one("AWS::Lambda::Function", f"{function_path}/Function")
        return dict(function["Properties"]["Environment"]["Variables"])

    def grants_of(self, function_path: str) -> set[tuple[str, str]]:
        """Every (action, resource) the function's role is allowed, from all its policies."""
        function = self.one("AWS::Lambda::Function", f"{function_path}/Function")
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        role = self.raw["Resources"][role_id]
        assert not role["Properties"].get("ManagedPolicyArns"), "no managed policies"
        grants: set[tuple[str, str]] = set()
        for policy in self.resources("AWS::IAM::Policy").values():
            if {"Ref": role_id} not in policy["Properties"]["Roles"]:
                continue
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                actions = statement["Action"]
                resources = statement["Resource"]
                for action in [actions] if isinstance(actions, str) else actions:
                    for resource in [resources] if not isinstance(resources, list) else resources:
                        grants.add((action, self.render(resource)))
        return grants

    def dashboard_body(self) -> str:
        [dashboard] = self.resources("AWS::CloudWatch::Dashboard").values()
        return self.render(dashboard["Properties"]["DashboardBody"])

    def alarms(self) -> dict[str, dict[str, Any]]:
        """Every alarm's properties, by alarm name."""
        return {
            a["Properties"]["AlarmName"]: a["Properties"]
            for a in self.resources("AWS::CloudWatch::Alarm").values()
        }


def assert_tls_only(synth: Synth, policy_type: str, target_key: str, target_path: str) -> None:
    """The resource policy on `target_path` denies every request not made over TLS."""
    for policy in synth.resources(policy_type).values():
        targets = policy["Properties"][target_key]
        targets = targets if isinstance(targets, list) else [targets]
        if any(synth.render(t).split(".")[0] == target_path for t in targets):
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert any(
                s["Effect"] == "Deny"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in statements
            )
            return
    raise AssertionError(f"no TLS-only policy on {target_path}")


def synthesize(env: str, outdir: Path) -> Synth:
    app = cdk.App(
        context={
            **cdk_context(),
            "env": env,
            "aws:cdk:bundling-stacks": [],
            "aws:cdk:enable-path-metadata": True,
        },
        outdir=str(outdir),
    )
    stack = build_app(app)
    assembly = app.synth()  # raises if any cdk-nag finding is unacknowledged
    artifact = assembly.get_stack_by_name(stack.stack_name)
    identity = assembly.get_stack_by_name(f"{stack.stack_name}-DeployIdentity")
    report = json.loads((outdir / "validation-report.json").read_text())
    return Synth(
        env,
        Template.from_json(artifact.template),
        artifact.template,
        report,
        dict(artifact.tags),
        bool(artifact.termination_protection),
        identity.template,
    )
