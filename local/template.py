"""A synthesized CloudFormation template, read as CloudFormation would for the local runtime.

Resources are looked up by type; `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select` and
`Fn::Split` resolve against the physical resources the runtime registers as it provisions them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_ACCOUNT = "123456789012"  # moto's default account

# What the runtime does with each resource type of the stack.
PROVISIONED = frozenset(
    {"AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret"}
)
RUN = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
        "AWS::ApiGateway::Stage",
        "AWS::ApiGateway::GatewayResponse",
    }
)


class _NoValue:
    """`AWS::NoValue`: the property is dropped."""


NO_VALUE = _NoValue()


class UnresolvedReferenceError(LookupError):
    pass


@dataclass(frozen=True)
class Physical:
    """What `Ref` returns for a resource, and its `Fn::GetAtt` attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


class StackTemplate:
    def __init__(
        self,
        raw: dict[str, Any],
        *,
        stack_name: str,
        region: str,
        account: str = LOCAL_ACCOUNT,
        root: Path | None = None,
    ) -> None:
        self.raw = raw
        self.stack_name = stack_name
        self.region = region
        self.account = account
        self.root = root
        self.physical: dict[str, Physical] = {}
        self._pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/local",
            "AWS::NoValue": NO_VALUE,
        }

    @classmethod
    def load(cls, cdk_out: Path, stack_name: str, region: str) -> StackTemplate:
        raw = json.loads((cdk_out / f"{stack_name}.template.json").read_text())
        return cls(raw, stack_name=stack_name, region=region, root=cdk_out)

    # -- lookups -------------------------------------------------------------------------------

    def resources(self, resource_type: str | None = None) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw.get("Resources", {}).items()
            if resource_type is None or resource["Type"] == resource_type
        }

    def path_of(self, logical_id: str) -> str:
        metadata = self.raw["Resources"][logical_id].get("Metadata", {})
        return str(metadata.get("aws:cdk:path", logical_id))

    def asset_dir(self, logical_id: str) -> Path:
        """The staged asset folder of a function's code (`aws:asset:path` metadata)."""
        metadata = self.raw["Resources"][logical_id].get("Metadata", {})
        asset = metadata.get("aws:asset:path")
        if not asset or self.root is None:
            raise UnresolvedReferenceError(f"{logical_id} has no asset path metadata")
        return self.root / str(asset)

    def is_python_function(self, logical_id: str) -> bool:
        resource = self.raw["Resources"][logical_id]
        runtime = str(resource["Properties"].get("Runtime", ""))
        return resource["Type"] == "AWS::Lambda::Function" and runtime.startswith("python")

    def not_emulated(self) -> dict[str, list[str]]:
        """Resource type → construct paths of what the runtime neither provisions nor runs."""
        skipped: dict[str, list[str]] = defaultdict(list)
        for logical_id, resource in self.resources().items():
            kind = resource["Type"]
            if kind in PROVISIONED:
                continue
            if kind in RUN and (
                kind != "AWS::Lambda::Function" or self.is_python_function(logical_id)
            ):
                continue
            label = kind
            if kind == "AWS::Lambda::Function":
                label = f"{kind} ({resource['Properties'].get('Runtime')})"
            skipped[label].append(self.path_of(logical_id))
        return dict(sorted(skipped.items()))

    # -- physical resources and intrinsics -----------------------------------------------------

    def register(self, logical_id: str, ref: str, **attributes: str) -> None:
        self.physical[logical_id] = Physical(ref, attributes)

    def physical_name(self, logical_id: str, *, max_length: int, lowercase: bool = False) -> str:
        """A unique, CloudFormation-like name: `<stack>-<logical id>`, cut to `max_length`."""
        name = f"{self.stack_name}-{logical_id}"
        if lowercase:
            name = re.sub(r"[^a-z0-9-]", "-", name.lower())
        return name[:max_length].rstrip("-")

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            intrinsic = _INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self.physical:
            return self.physical[name].ref
        raise UnresolvedReferenceError(f"Ref {name}: not provisioned locally")

    def _get_att(self, argument: Any) -> str:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        physical = self.physical.get(logical_id)
        if physical is None or attribute not in physical.attributes:
            raise UnresolvedReferenceError(f"Fn::GetAtt {logical_id}.{attribute}: not available")
        return physical.attributes[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: self.resolve(v) for name, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name:
                return self._get_att(name)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


_INTRINSICS: dict[str, Any] = {
    "Ref": lambda t, a: t._ref(a),
    "Fn::GetAtt": lambda t, a: t._get_att(a),
    "Fn::Join": lambda t, a: str(a[0]).join(str(t.resolve(part)) for part in t.resolve(a[1])),
    "Fn::Sub": lambda t, a: t._sub(a),
    "Fn::Select": lambda t, a: t.resolve(a[1])[int(t.resolve(a[0]))],
    "Fn::Split": lambda t, a: str(t.resolve(a[1])).split(str(a[0])),
}
