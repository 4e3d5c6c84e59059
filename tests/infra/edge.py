"""Reading the API's edge from a synthesized template: the web ACL and its rules, a small
evaluator of the WAF statements our own rules use (which request a rule blocks), and the API's
methods with their authorization."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.infra.synthesis import ENVS, Synth, settings

# Resource path -> how the stage's MethodSettings escape it.
WEBHOOKS = {
    "/webhooks/qualia": "/~1webhooks~1qualia",
    "/webhooks/zoho/{entity}": "/~1webhooks~1zoho~1{entity}",
}

WAF_ENVS = [env for env in ENVS if settings(env).api.waf.enabled]
NO_WAF_ENVS = [env for env in ENVS if env not in WAF_ENVS]


def web_acl(synth: Synth) -> dict[str, Any]:
    [acl] = synth.resources("AWS::WAFv2::WebACL").values()
    return dict(acl["Properties"])


def rule(synth: Synth, name: str) -> dict[str, Any]:
    [found] = [r for r in web_acl(synth)["Rules"] if r["Name"] == name]
    return dict(found)


@dataclass(frozen=True)
class Request:
    path: str  # the URI path as WAF sees it: `/<stage>/...` on the execute-api URL
    body_bytes: int = 0
    labels: frozenset[str] = field(default_factory=frozenset)


def matches(statement: dict[str, Any], request: Request, inspection_limit: int) -> bool:
    [(kind, spec)] = statement.items()
    if kind == "AndStatement":
        return all(matches(s, request, inspection_limit) for s in spec["Statements"])
    if kind == "OrStatement":
        return any(matches(s, request, inspection_limit) for s in spec["Statements"])
    if kind == "NotStatement":
        return not matches(spec["Statement"], request, inspection_limit)
    if kind == "RegexMatchStatement":
        assert spec["FieldToMatch"] == {"UriPath": {}}
        assert [t["Type"] for t in spec["TextTransformations"]] == ["NONE"]
        return re.search(spec["RegexString"], request.path) is not None
    if kind == "SizeConstraintStatement":
        handling = spec["FieldToMatch"]["Body"]["OversizeHandling"]
        assert spec["ComparisonOperator"] == "GT"
        if request.body_bytes > inspection_limit and handling != "CONTINUE":
            return bool(handling == "MATCH")
        return bool(min(request.body_bytes, inspection_limit) > spec["Size"])
    if kind == "LabelMatchStatement":
        assert spec["Scope"] == "LABEL"
        return spec["Key"] in request.labels
    raise AssertionError(f"the test has no evaluator for {kind}")


def blocked_by(synth: Synth, request: Request) -> str | None:
    """The first of our own (non-managed, non-rate) rules that blocks `request`."""
    inspection_limit = settings(synth.env).api.waf.body_inspection_limit_bytes
    for candidate in sorted(web_acl(synth)["Rules"], key=lambda r: r["Priority"]):
        statement = candidate["Statement"]
        if {"ManagedRuleGroupStatement", "RateBasedStatement"} & set(statement):
            continue
        if matches(statement, request, inspection_limit):
            assert "Block" in candidate["Action"]
            return str(candidate["Name"])
    return None


def api_methods(synth: Synth) -> dict[tuple[str, str], str]:
    """(HTTP method, resource path) -> authorization type, for every API method."""
    resources = synth.resources("AWS::ApiGateway::Resource")

    def path(resource_id: Any) -> str:
        if "Fn::GetAtt" in resource_id:  # the root resource
            return ""
        resource = resources[resource_id["Ref"]]["Properties"]
        return f"{path(resource['ParentId'])}/{resource['PathPart']}"

    methods = {}
    for method in synth.resources("AWS::ApiGateway::Method").values():
        properties = method["Properties"]
        key = (properties["HttpMethod"], path(properties["ResourceId"]))
        methods[key] = properties["AuthorizationType"]
    return methods
