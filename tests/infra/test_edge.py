"""The production edge of the API: the WAF web ACL, the TLS policy, the webhook routes' throttle."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.config import ConfigError, EnvironmentSettings, load_settings
from infra.constructs.rest_api import RestApi
from tests.infra.conftest import ENVS, Synth, cdk_context

ENVIRONMENTS = "webhook-pipeline:environments"


def settings(env: str) -> EnvironmentSettings:
    return load_settings(cdk_context()[ENVIRONMENTS], env)


WAF_ENVS = [env for env in ENVS if settings(env).api.waf.enabled]
NO_WAF_ENVS = [env for env in ENVS if env not in WAF_ENVS]
RULES_IN_ORDER = [
    "CommonRuleSet",
    "KnownBadInputs",
    "PartnerRulesOutsideWebhooks",
    "RateLimitPerIp",
    "BodySize",
]
CRS_LABEL = "awswaf:managed:aws:core-rule-set:"
# Rule name -> the label AWS documents for it (the label's case differs from the rule's).
PARTNER_SENSITIVE = {
    "CrossSiteScripting_BODY": "CrossSiteScripting_Body",
    "GenericLFI_BODY": "GenericLFI_Body",
    "GenericRFI_BODY": "GenericRFI_Body",
    "NoUserAgent_HEADER": "NoUserAgent_Header",
}
TLS_1_2_OR_STRICTER = {
    "TLS_1_2",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_3_2025_09",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
}
# Resource path -> how the stage's MethodSettings escape it.
WEBHOOKS = {
    "/webhooks/qualia": "/~1webhooks~1qualia",
    "/webhooks/zoho/{entity}": "/~1webhooks~1zoho~1{entity}",
}
MAX_BODY = 6_000_000  # api.max_request_body_bytes in every env


def web_acl(synth: Synth) -> dict[str, Any]:
    [acl] = synth.resources("AWS::WAFv2::WebACL").values()
    return dict(acl["Properties"])


def rule(synth: Synth, name: str) -> dict[str, Any]:
    [found] = [r for r in web_acl(synth)["Rules"] if r["Name"] == name]
    return dict(found)


# --- A WAF statement evaluator, for the statements our own rules use ---------------------------


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


# --- Where the web ACL is ----------------------------------------------------------------------


def test_prod_has_the_web_acl_and_dev_does_not() -> None:
    assert "prod" in WAF_ENVS
    assert "staging" in WAF_ENVS  # rehearses prod's rules on the partners' test traffic
    assert NO_WAF_ENVS == ["dev"]


@pytest.mark.parametrize("env", WAF_ENVS)
def test_one_regional_web_acl_allows_by_default_named_and_tagged(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    acl = web_acl(synth)
    assert acl["Scope"] == "REGIONAL"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["Name"] == f"WebhookPipeline-{env}-api"
    tags = {t["Key"]: t["Value"] for t in acl["Tags"]}
    assert tags == {"environment": env, "service": "webhook-pipeline"}
    assert acl["VisibilityConfig"]["CloudWatchMetricsEnabled"] is True


@pytest.mark.parametrize("env", WAF_ENVS)
def test_the_web_acl_is_associated_with_the_apis_stage(synths: dict[str, Synth], env: str) -> None:
    synth = synths[env]
    [(acl_id, _)] = synth.resources("AWS::WAFv2::WebACL").items()
    [association] = synth.resources("AWS::WAFv2::WebACLAssociation").values()
    [(stage_id, stage)] = synth.resources("AWS::ApiGateway::Stage").items()
    [api_id] = synth.resources("AWS::ApiGateway::RestApi")
    assert stage["Properties"]["StageName"] == env
    properties = association["Properties"]
    assert properties["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert synth.render(properties["ResourceArn"]) == (
        "arn:AWS::Partition:apigateway:AWS::Region::/restapis/"
        f"{synth.path_of(api_id)}/stages/{synth.path_of(stage_id)}"
    )
    # The Ref to the stage orders the association after it.
    assert {"Ref": stage_id} in properties["ResourceArn"]["Fn::Join"][1]


@pytest.mark.parametrize("env", WAF_ENVS)
def test_blocked_and_counted_requests_are_logged_without_credentials(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    [(acl_id, _)] = synth.resources("AWS::WAFv2::WebACL").items()
    [logging] = synth.resources("AWS::WAFv2::LoggingConfiguration").values()
    properties = logging["Properties"]
    assert properties["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    [destination] = properties["LogDestinationConfigs"]
    group_name = f"aws-waf-logs-WebhookPipeline-{env}-api"  # WAF takes no other prefix
    [(group_id, group)] = [
        (logical_id, g) for logical_id, g in synth.resources("AWS::Logs::LogGroup").items()
        if g["Properties"].get("LogGroupName") == group_name
    ]  # fmt: skip
    # The group's ARN without the `:*` suffix (WAF refuses it).
    assert synth.render(destination).endswith(f":log-group:{synth.path_of(group_id)}")
    assert group["Properties"]["RetentionInDays"] == settings(env).log_retention_days
    redacted = {f["SingleHeader"]["Name"] for f in properties["RedactedFields"]}
    assert redacted == {"webhook-signature", "x-webhook-key", "authorization",
                        "x-amz-security-token"}  # fmt: skip
    kept = properties["LoggingFilter"]
    assert kept["DefaultBehavior"] == "DROP"  # allowed requests: the API's access log has them
    actions = {c["ActionCondition"]["Action"] for f in kept["Filters"] for c in f["Conditions"]}
    assert actions == {"BLOCK", "COUNT"}
    assert {f["Behavior"] for f in kept["Filters"]} == {"KEEP"}


@pytest.mark.parametrize("env", NO_WAF_ENVS)
def test_without_waf_there_is_no_web_acl_and_apig3_is_acknowledged_on_the_stage(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    assert synth.resources("AWS::WAFv2::WebACL") == {}
    assert synth.resources("AWS::WAFv2::WebACLAssociation") == {}
    [nag] = [r for r in synth.report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    [apig3] = [s for s in nag["suppressedViolations"] if s["ruleName"] == "AwsSolutions-APIG3"]
    assert apig3["acknowledgedAt"] == f"WebhookPipeline-{env}/Api/Api/DeploymentStage.{env}"
    assert "api.waf.enabled" in apig3["reason"]


@pytest.mark.parametrize("env", WAF_ENVS)
def test_with_waf_apig3_is_neither_raised_nor_acknowledged(
    synths: dict[str, Synth], env: str
) -> None:
    [nag] = [r for r in synths[env].report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    findings = nag["violations"] + nag["suppressedViolations"]
    assert [f for f in findings if f["ruleName"] == "AwsSolutions-APIG3"] == []


# --- The rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", WAF_ENVS)
def test_rules_run_in_order_each_with_its_metrics_and_samples(
    synths: dict[str, Synth], env: str
) -> None:
    rules = sorted(web_acl(synths[env])["Rules"], key=lambda r: r["Priority"])
    assert [r["Name"] for r in rules] == RULES_IN_ORDER
    assert [r["Priority"] for r in rules] == list(range(len(rules)))
    metric_names = set()
    for each in rules:
        visibility = each["VisibilityConfig"]
        assert visibility["CloudWatchMetricsEnabled"] is True, each["Name"]
        assert visibility["SampledRequestsEnabled"] is True, each["Name"]
        metric_names.add(visibility["MetricName"])
    assert len(metric_names) == len(rules)


@pytest.mark.parametrize("env", WAF_ENVS)
def test_the_managed_groups_run_with_the_body_size_and_partner_rules_counted(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    common = rule(synth, "CommonRuleSet")
    group = common["Statement"]["ManagedRuleGroupStatement"]
    assert (group["VendorName"], group["Name"]) == ("AWS", "AWSManagedRulesCommonRuleSet")
    assert common["OverrideAction"] == {"None": {}}
    overrides = {o["Name"]: o["ActionToUse"] for o in group["RuleActionOverrides"]}
    # The 8 KB body limit would refuse the ERP's and the catalog's large bodies.
    assert overrides["SizeRestrictions_BODY"] == {"Count": {}}
    assert overrides == {
        name: {"Count": {}} for name in ["SizeRestrictions_BODY", *PARTNER_SENSITIVE]
    }
    known_bad = rule(synth, "KnownBadInputs")
    group = known_bad["Statement"]["ManagedRuleGroupStatement"]
    assert (group["VendorName"], group["Name"]) == ("AWS", "AWSManagedRulesKnownBadInputsRuleSet")
    assert "RuleActionOverrides" not in group
    assert known_bad["OverrideAction"] == {"None": {}}


@pytest.mark.parametrize("env", WAF_ENVS)
def test_the_partner_rules_still_block_outside_the_webhook_routes(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    enforced = rule(synth, "PartnerRulesOutsideWebhooks")
    assert enforced["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 403
    for label in PARTNER_SENSITIVE.values():
        flagged = frozenset({f"{CRS_LABEL}{label}"})
        for webhook in (f"/{env}/webhooks/qualia", f"/{env}/webhooks/zoho/invoice"):
            assert blocked_by(synth, Request(webhook, 200, flagged)) is None, (label, webhook)
        for other in (
            f"/{env}/catalogs/c-1/enrichments",
            f"/{env}/events/e-1/replay",
            f"/{env}/webhooks/zoho/invoice/extra",
            f"/{env}/webhooks/qualiax",
        ):
            assert blocked_by(synth, Request(other, 200, flagged)) == enforced["Name"], other
    # A label of a rule that still blocks on its own is not this rule's business.
    other_label = frozenset({f"{CRS_LABEL}EC2MetaDataSSRF_Body"})
    assert blocked_by(synth, Request(f"/{env}/catalogs/c/enrichments", 10, other_label)) is None


@pytest.mark.parametrize("env", WAF_ENVS)
def test_the_rate_rule_limits_each_ip_over_five_minutes(synths: dict[str, Synth], env: str) -> None:
    limited = rule(synths[env], "RateLimitPerIp")
    statement = limited["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == settings(env).api.waf.rate_limit_per_5_minutes
    assert statement["AggregateKeyType"] == "IP"
    assert statement["EvaluationWindowSec"] == 300
    assert "ScopeDownStatement" not in statement
    response = limited["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429


@pytest.mark.parametrize("env", WAF_ENVS)
def test_the_body_rule_holds_each_route_to_the_body_it_takes(
    synths: dict[str, Synth], env: str
) -> None:
    synth = synths[env]
    limit = settings(env).api.waf.body_inspection_limit_bytes
    assert web_acl(synth)["AssociationConfig"]["RequestBody"] == {
        "API_GATEWAY": {"DefaultSizeInspectionLimit": f"KB_{limit // 1024}"}
    }
    for prefix in (f"/{env}", ""):  # the execute-api URL, a custom domain mapped at its root
        # Large bodies: the functions refuse what is over max_request_body_bytes.
        for large in ("/webhooks/zoho/invoice", "/catalogs/c-1/enrichments"):
            assert blocked_by(synth, Request(prefix + large, MAX_BODY)) is None, large
            assert blocked_by(synth, Request(prefix + large + "/", MAX_BODY)) is None, large
        # The order webhook: a thin event, up to what WAF can see.
        order = prefix + "/webhooks/qualia"
        assert blocked_by(synth, Request(order, 300)) is None
        assert blocked_by(synth, Request(order, limit)) is None
        assert blocked_by(synth, Request(order, limit + 1)) == "BodySize"
        assert blocked_by(synth, Request(order, MAX_BODY)) == "BodySize"
        # Every other route takes no body at all.
        for bodiless in ("/events", "/events/e-1/replay", "/dlq/download/redrive", "/health"):
            assert blocked_by(synth, Request(prefix + bodiless, 0)) is None, bodiless
            assert blocked_by(synth, Request(prefix + bodiless, 2)) == "BodySize", bodiless
        # Look-alikes of the large-body routes get no exemption.
        assert blocked_by(synth, Request(prefix + "/webhooks/zoho/a/b", MAX_BODY)) == "BodySize"
        assert blocked_by(synth, Request(prefix + "/webhooks/zoho", 10)) == "BodySize"
    assert blocked_by(synth, Request("/other-stage/webhooks/zoho/invoice", MAX_BODY)) == "BodySize"


def _methods(synth: Synth) -> dict[tuple[str, str], str]:
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


@pytest.mark.parametrize("env", WAF_ENVS)
def test_every_post_route_is_classified_for_the_body_rule(
    synths: dict[str, Synth], env: str
) -> None:
    posts = {path for method, path in _methods(synths[env]) if method == "POST"}
    # A new POST route that takes a body must be listed in rest_api.EDGE_ROUTES, or WAF blocks
    # every body it gets: add it here once it is.
    assert posts == {
        "/webhooks/qualia",
        "/webhooks/zoho/{entity}",
        "/catalogs/{catalog_id}/enrichments",
        "/events/{event_id}/replay",  # no body: query parameters only
        "/dlq/{queue}/redrive",  # no body: query parameters only
    }


@pytest.mark.parametrize("env", WAF_ENVS)
def test_blocked_requests_answer_in_the_json_envelope(synths: dict[str, Synth], env: str) -> None:
    acl = web_acl(synths[env])
    bodies = acl["CustomResponseBodies"]
    used = set()
    for each in acl["Rules"]:
        if "Action" not in each:
            continue
        response = each["Action"]["Block"]["CustomResponse"]
        key = response["CustomResponseBodyKey"]
        used.add(key)
        assert bodies[key]["ContentType"] == "APPLICATION_JSON"
        document = json.loads(bodies[key]["Content"])
        assert list(document) == ["status", "data", "error", "request_id"]
        assert (document["status"], document["data"], document["request_id"]) == (
            "failure",
            None,
            None,
        )
        assert list(document["error"]) == ["code", "message", "details"]
        assert document["error"]["details"] is None
        assert document["error"]["message"]
        expected = {403: "WAF_BLOCKED", 429: "RATE_LIMITED"}[response["ResponseCode"]]
        assert document["error"]["code"] == expected, each["Name"]
    assert used == set(bodies)


# --- TLS ---------------------------------------------------------------------------------------


def test_every_env_refuses_tls_below_1_2_with_a_strict_endpoint(synth: Synth) -> None:
    policy = settings(synth.env).api.tls_security_policy
    assert policy in TLS_1_2_OR_STRICTER
    [api] = synth.resources("AWS::ApiGateway::RestApi").values()
    properties = api["Properties"]
    assert properties["SecurityPolicy"] == policy
    assert properties["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert properties.get("EndpointAccessMode") == (
        "STRICT" if policy.startswith("SecurityPolicy_") else None
    )


def _standalone_api(config: EnvironmentSettings) -> tuple[RestApi, lambda_.Function]:
    stack = cdk.Stack(cdk.App())
    api = RestApi(stack, "Api", env=config)
    function = lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return None"),
    )
    return api, function


def _with_policy(policy: str) -> EnvironmentSettings:
    base = settings("dev")
    return base.model_copy(
        update={"api": base.api.model_copy(update={"tls_security_policy": policy})}
    )


def _rest_api_template(policy: str) -> dict[str, Any]:
    api, function = _standalone_api(_with_policy(policy))
    api.route("GET", "/health", function, iam_auth=True)
    return dict(Template.from_stack(cdk.Stack.of(api)).to_json())


def test_a_changed_tls_policy_is_redeployed_and_a_legacy_policy_has_no_access_mode() -> None:
    enhanced = _rest_api_template("SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09")
    legacy = _rest_api_template("TLS_1_2")

    def deployments(template: dict[str, Any]) -> set[str]:
        return {
            logical_id
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::ApiGateway::Deployment"
        }

    assert deployments(enhanced).isdisjoint(deployments(legacy))
    [api] = [r for r in legacy["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert api["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert "EndpointAccessMode" not in api["Properties"]


def test_a_public_route_that_is_not_a_webhook_is_refused() -> None:
    api, function = _standalone_api(settings("dev"))
    with pytest.raises(ValueError, match="not in WEBHOOK_ROUTES"):
        api.route("POST", "/webhooks/shop", function, iam_auth=False, public_reason="x" * 40)
    with pytest.raises(ValueError, match="not in WEBHOOK_ROUTES"):
        api.route("GET", "/webhooks/qualia", function, iam_auth=False, public_reason="x" * 40)


# --- Throttling --------------------------------------------------------------------------------


def test_the_webhook_routes_have_their_own_throttle_and_the_stage_default_stays(
    synth: Synth,
) -> None:
    config = settings(synth.env).api
    [stage] = synth.resources("AWS::ApiGateway::Stage").values()
    method_settings = {
        (s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]
    }
    assert set(method_settings) == {("/*", "*"), *((p, "POST") for p in WEBHOOKS.values())}
    default = method_settings[("/*", "*")]
    assert (default["ThrottlingRateLimit"], default["ThrottlingBurstLimit"]) == (
        config.throttling_rate_limit,
        config.throttling_burst_limit,
    )
    for escaped in WEBHOOKS.values():
        webhook = method_settings[(escaped, "POST")]
        assert (webhook["ThrottlingRateLimit"], webhook["ThrottlingBurstLimit"]) == (
            config.webhook_throttling_rate_limit,
            config.webhook_throttling_burst_limit,
        ), escaped
        # An override is the method's whole setting: logging and metrics as the stage's.
        assert webhook["LoggingLevel"] == default["LoggingLevel"] == "INFO"
        assert webhook["MetricsEnabled"] is default["MetricsEnabled"] is True
        assert webhook["DataTraceEnabled"] is False
    # The overrides name the unauthenticated methods, and those are exactly the webhooks.
    public = {key for key, authorization in _methods(synth).items() if authorization == "NONE"}
    assert public == {("POST", path) for path in WEBHOOKS}


def test_webhook_limits_stay_below_the_stage_default_in_every_env() -> None:
    for env in ENVS:
        api = settings(env).api
        assert api.webhook_throttling_rate_limit < api.throttling_rate_limit, env
        assert api.webhook_throttling_burst_limit < api.throttling_burst_limit, env


# --- The config model --------------------------------------------------------------------------


def _prod_with(**api: Any) -> dict[str, Any]:
    environments = json.loads(json.dumps(cdk_context()[ENVIRONMENTS]))
    environments["prod"]["api"].update(api)
    return dict(environments)


@pytest.mark.parametrize(
    ("key", "value", "stage_key"),
    [
        ("webhook_throttling_rate_limit", 501, "throttling_rate_limit"),
        ("webhook_throttling_burst_limit", 1001, "throttling_burst_limit"),
    ],
)
def test_the_model_refuses_webhook_limits_above_the_stages(
    key: str, value: int, stage_key: str
) -> None:
    with pytest.raises(ConfigError, match=rf"api.{key} \({value}\) is above api.{stage_key}"):
        load_settings(_prod_with(**{key: value}), "prod")
    at_the_limit = value - 1
    assert getattr(load_settings(_prod_with(**{key: at_the_limit}), "prod").api, key) == (
        at_the_limit
    )


@pytest.mark.parametrize(
    "policy",
    ["TLS_1_0", "SecurityPolicy_TLS13_2025_EDGE", "SecurityPolicy_TLS12_2018_EDGE", "tls1.2"],
)
def test_the_model_refuses_a_policy_that_is_not_tls_1_2_for_a_regional_api(policy: str) -> None:
    with pytest.raises(ConfigError, match=r"api\.tls_security_policy: "):
        load_settings(_prod_with(tls_security_policy=policy), "prod")


@pytest.mark.parametrize("policy", sorted(TLS_1_2_OR_STRICTER))
def test_the_model_accepts_every_tls_1_2_policy(policy: str) -> None:
    assert load_settings(
        _prod_with(tls_security_policy=policy), "prod"
    ).api.tls_security_policy == (policy)


@pytest.mark.parametrize(
    ("waf", "message"),
    [
        ({"rate_limit_per_5_minutes": 9}, "api.waf.rate_limit_per_5_minutes"),
        ({"body_inspection_limit_kb": 128}, "api.waf.body_inspection_limit_kb"),
        ({"enabled": "maybe"}, "api.waf.enabled"),
    ],
)
def test_the_model_refuses_waf_settings_waf_would_not_take(
    waf: dict[str, Any], message: str
) -> None:
    environments = _prod_with()
    environments["prod"]["api"]["waf"].update(waf)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environments, "prod")
