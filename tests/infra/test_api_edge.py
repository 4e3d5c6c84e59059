"""The rest of the API's edge: the TLS policy, the webhook routes' throttle, and the config
model's checks of both."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.config import ENVIRONMENTS_CONTEXT_KEY, ConfigError, EnvironmentSettings, load_settings
from infra.constructs.rest_api import RestApi
from tests.infra.edge import (
    WEBHOOKS,
    api_methods,
)
from tests.infra.synthesis import ENVS, Synth, cdk_context, settings

TLS_1_2_OR_STRICTER = {
    "TLS_1_2",
    "SecurityPolicy_TLS13_1_2_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
    "SecurityPolicy_TLS13_1_3_2025_09",
    "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
}


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
        runtime=lambda_.Runtime.PYTHON_3_14,
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
    public = {key for key, authorization in api_methods(synth).items() if authorization == "NONE"}
    assert public == {("POST", path) for path in WEBHOOKS}


def test_webhook_limits_stay_below_the_stage_default_in_every_env() -> None:
    for env in ENVS:
        api = settings(env).api
        assert api.webhook_throttling_rate_limit < api.throttling_rate_limit, env
        assert api.webhook_throttling_burst_limit < api.throttling_burst_limit, env


def _prod_with(**api: Any) -> dict[str, Any]:
    environments = json.loads(json.dumps(cdk_context()[ENVIRONMENTS_CONTEXT_KEY]))
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
