"""Synthesizes each environment once (no bundling: no Docker, no package index needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from app import build_app

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "staging", "prod")


def cdk_context() -> dict[str, Any]:
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


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


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    return {env: synthesize(env, tmp_path_factory.mktemp(f"cdk-{env}")) for env in ENVS}


@pytest.fixture(params=ENVS)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synth]) -> Synth:
    """Each env's synthesized app, one test per env."""
    return synths[request.param]
