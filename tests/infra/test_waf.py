"""The API stage's WAF web ACL: where it is, its rules in order, what each one blocks, and how
a block answers."""

from __future__ import annotations

import json

import pytest

from tests.infra.edge import (
    NO_WAF_ENVS,
    WAF_ENVS,
    Request,
    api_methods,
    blocked_by,
    rule,
    web_acl,
)
from tests.infra.synthesis import Synth, settings

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

MAX_BODY = 6_000_000  # api.max_request_body_bytes in every env


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


@pytest.mark.parametrize("env", WAF_ENVS)
def test_every_post_route_is_classified_for_the_body_rule(
    synths: dict[str, Synth], env: str
) -> None:
    posts = {path for method, path in api_methods(synths[env]) if method == "POST"}
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
