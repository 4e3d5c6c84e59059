"""The REST API: its stage, routes and gateway errors, and the stack's outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.stack_parts import FUNCTIONS
from tests.infra.synthesis import Synth, settings


def test_the_api_stage_logs_traces_and_throttles(synth: Synth) -> None:
    config = settings(synth.env)
    [stage] = synth.resources("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == synth.env
    assert properties["TracingEnabled"] is True
    access_format = json.loads(properties["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "ip", "resourcePath", "xrayTraceId"} <= set(access_format)
    destination = synth.render(properties["AccessLogSetting"]["DestinationArn"])
    assert destination.endswith(":log-group:Api/AccessLogs")
    by_method = {(s["ResourcePath"], s["HttpMethod"]): s for s in properties["MethodSettings"]}
    settings_all = by_method[("/*", "*")]  # the webhook routes' own: tests/infra/test_edge.py
    assert settings_all["LoggingLevel"] == "INFO"
    assert settings_all["DataTraceEnabled"] is False
    assert settings_all["ThrottlingRateLimit"] == config.api.throttling_rate_limit
    assert settings_all["ThrottlingBurstLimit"] == config.api.throttling_burst_limit


@pytest.mark.parametrize(
    ("method", "path", "authorization", "function"),
    [
        ("POST", "Api/Api/Default/webhooks/qualia/POST", "NONE", "Ingest/Function"),
        ("POST", "Api/Api/Default/webhooks/zoho/{entity}/POST", "NONE", "Erp/Ingest/Function"),
        ("GET", "Api/Api/Default/events/{event_id}/GET", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/events/GET", "AWS_IAM", "OpsApi/Function"),
        ("POST", "Api/Api/Default/events/{event_id}/replay/POST", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/stats/GET", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/health/GET", "AWS_IAM", "OpsApi/Function"),
        ("POST", "Api/Api/Default/dlq/{queue}/redrive/POST", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/dlq/{queue}/redrive/GET", "AWS_IAM", "OpsApi/Function"),
        (
            "POST",
            "Api/Api/Default/catalogs/{catalog_id}/enrichments/POST",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
        (
            "GET",
            "Api/Api/Default/catalogs/{catalog_id}/enrichments/GET",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
        (
            "GET",
            "Api/Api/Default/users/{user_id}/enrichments/GET",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
    ],
)
def test_routes_and_their_authorization(
    synth: Synth, method: str, path: str, authorization: str, function: str
) -> None:
    resource = synth.one("AWS::ApiGateway::Method", path)["Properties"]
    assert resource["HttpMethod"] == method
    assert resource["AuthorizationType"] == authorization
    assert resource["Integration"]["Type"] == "AWS_PROXY"
    uri = synth.render(resource["Integration"]["Uri"])
    assert f"{function}.Arn" in uri


def test_the_stack_is_named_after_the_env_and_exports_what_operators_need(synth: Synth) -> None:
    outputs: dict[str, Any] = synth.raw["Outputs"]
    for name in (
        "ApiUrl",
        "EventsTableName",
        "PayloadBucketName",
        "DownloadDlqUrl",
        "ProcessingDlqUrl",
        "EntitiesTableName",
        "ErpWebhookKeysSecretName",
        "EnrichmentTableName",
        "ProductsTableName",
        "ProviderApiKeySecretName",
    ):
        assert name in outputs
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": f"webhook-pipeline-{synth.env}"}
    )
    # The pipeline functions, plus CDK's auto-delete provider where buckets are disposable.
    auto_delete = 0 if settings(synth.env).retain_data else 1
    synth.template.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS) + auto_delete)


def test_errors_from_api_gateway_itself_use_the_envelope(synth: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        template = response["ResponseTemplates"]["application/json"]
        rendered = (
            template.replace("$context.error.responseType", "THROTTLED")
            .replace("$context.error.messageString", '"Too Many Requests"')
            .replace("$context.requestId", "abc-123")
        )
        assert json.loads(rendered) == {
            "status": "failure",
            "data": None,
            "error": {"code": "THROTTLED", "message": "Too Many Requests", "details": None},
            "request_id": "abc-123",
        }


def test_only_prod_is_termination_protected(synth: Synth) -> None:
    assert synth.termination_protection is (synth.env == "prod")
