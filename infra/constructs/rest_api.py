"""The REST API: a stage per env, JSON access logs, execution logs, X-Ray, throttling (the partner
webhooks in their own buckets), a TLS 1.2+ security policy and, where configured, a WAF web ACL."""

from __future__ import annotations

import json
import re
from typing import cast

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.log_groups import log_group
from infra.constructs.nag import acknowledge
from infra.constructs.waf_statements import EdgeRoutes
from infra.constructs.web_acl import ApiWebAcl
from shared.sources import Source

_ACCESS_LOG_FORMAT = {
    "requestId": apigw.AccessLogField.context_request_id(),
    "ip": apigw.AccessLogField.context_identity_source_ip(),
    "caller": apigw.AccessLogField.context_identity_caller(),
    "user": apigw.AccessLogField.context_identity_user(),
    "requestTime": apigw.AccessLogField.context_request_time(),
    "httpMethod": apigw.AccessLogField.context_http_method(),
    "resourcePath": apigw.AccessLogField.context_resource_path(),
    "path": apigw.AccessLogField.context_path(),
    "status": apigw.AccessLogField.context_status(),
    "protocol": apigw.AccessLogField.context_protocol(),
    "responseLength": apigw.AccessLogField.context_response_length(),
    "responseLatency": apigw.AccessLogField.context_response_latency(),
    "integrationLatency": apigw.AccessLogField.context_integration_latency(),
    "integrationStatus": apigw.AccessLogField.context_integration_status(),
    "errorMessage": apigw.AccessLogField.context_error_message(),
    "xrayTraceId": apigw.AccessLogField.context_xray_trace_id(),
    # WAF_ALLOW / WAF_BLOCK where a web ACL is associated; the TLS version and cipher each client
    # negotiated (what a stricter security policy would refuse).
    "wafResponseCode": "$context.wafResponseCode",
    "tlsVersion": "$context.tlsVersion",
    "cipherSuite": "$context.cipherSuite",
}

# The partners' webhook routes: the only routes without IAM auth (the function checks each
# request's signature or key), throttled in buckets of their own so a flood of them is refused
# at its own limit, and the routes where the WAF's partner-sensitive rules only count.
ORDER_WEBHOOK = f"/webhooks/{Source.MARKETPLACE}"
ERP_WEBHOOK = f"/webhooks/{Source.ERP}/{{entity}}"
ENRICHMENT_REQUESTS = "/catalogs/{catalog_id}/enrichments"
WEBHOOK_ROUTES = (("POST", ORDER_WEBHOOK), ("POST", ERP_WEBHOOK))
# The routes whose function reads a body; the ERP webhooks and catalog enrichment requests carry
# up to api.max_request_body_bytes, the order webhook a thin event. Any other route takes none.
EDGE_ROUTES = EdgeRoutes(
    webhooks=tuple(path for _, path in WEBHOOK_ROUTES),
    bodies=(ORDER_WEBHOOK, ERP_WEBHOOK, ENRICHMENT_REQUESTS),
    large_bodies=(ERP_WEBHOOK, ENRICHMENT_REQUESTS),
)

# Errors API Gateway answers itself (throttled, missing auth, integration timeout...) use the
# handlers' envelope too; the code is the gateway's response type, e.g. THROTTLED.
GATEWAY_ERROR_TEMPLATE = (
    '{"status": "failure", "data": null, "error": {"code": "$context.error.responseType", '
    '"message": $context.error.messageString, "details": null}, '
    '"request_id": "$context.requestId"}'
)


class RestApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = log_group(self, "AccessLogs", env)
        self.api = self._build_api(env)
        for name, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(
                name,
                type=response_type,
                templates={"application/json": GATEWAY_ERROR_TEMPLATE},
            )
        self.validator = self.api.add_request_validator(
            "Validator", validate_request_parameters=True, validate_request_body=True
        )
        acknowledge(
            self.api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            (
                "API Gateway's account-level CloudWatch role needs the AWS-managed "
                "AmazonAPIGatewayPushToCloudWatchLogs policy; it grants log writes only"
            ),
        )
        self._require_tls_1_2(env)
        self.web_acl = self._build_web_acl(env)

    def _build_api(self, env: EnvironmentSettings) -> apigw.RestApi:
        api = env.api
        return apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"webhook-pipeline-{env.name}",
            description=f"Webhook Pipeline ({env.name}): webhook ingestion and operator endpoints",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=env.name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                # Request/response bodies would put webhook payloads in the execution logs.
                data_trace_enabled=False,
                throttling_rate_limit=api.throttling_rate_limit,
                throttling_burst_limit=api.throttling_burst_limit,
                # `/webhooks/zoho/{entity}/POST`: CDK escapes the path to `/~1webhooks~1zoho~1
                # {entity}`. The override is the whole setting of that method: repeat the rest.
                method_options={
                    f"{path}/{method}": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=api.webhook_throttling_rate_limit,
                        throttling_burst_limit=api.webhook_throttling_burst_limit,
                        metrics_enabled=True,
                        logging_level=apigw.MethodLoggingLevel.INFO,
                        data_trace_enabled=False,
                    )
                    for method, path in WEBHOOK_ROUTES
                },
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FORMAT)),
            ),
        )

    def _build_web_acl(self, env: EnvironmentSettings) -> ApiWebAcl | None:
        if env.api.waf.enabled:
            return ApiWebAcl(
                self, "Firewall", env=env, stage=self.api.deployment_stage, routes=EDGE_ROUTES
            )
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "This env has no WAF web ACL (api.waf.enabled is false) to keep the sandbox cheap; "
            "throttling and the functions' signature and key checks still apply, and every "
            "env with api.waf.enabled gets the web ACL",
        )
        return None

    def _require_tls_1_2(self, env: EnvironmentSettings) -> None:
        """The API's own endpoint refuses TLS 1.0 and 1.1. An enhanced policy (SecurityPolicy_*)
        needs an endpoint access mode: STRICT also refuses a request whose SNI host is not this
        API's, or that arrives through another endpoint type (every HTTPS client sends SNI)."""
        policy = env.api.tls_security_policy
        access_mode = "STRICT" if policy.startswith("SecurityPolicy_") else None
        api = cast(apigw.CfnRestApi, self.api.node.default_child)
        api.security_policy = policy
        # A changed policy takes effect with the next deployment; CDK names the deployment after
        # the RestApi's properties, so a new policy gets one (tests/infra/test_api_edge.py checks).
        api.endpoint_access_mode = access_mode

    def route(
        self,
        method: str,
        path: str,
        function: lambda_.IFunction,
        *,
        iam_auth: bool,
        public_reason: str = "",
    ) -> apigw.Method:
        """Add `method path` → `function` (proxy integration); `{params}` in the path are
        required, so API Gateway refuses a request without them. A route without IAM auth must
        be one of WEBHOOK_ROUTES: it needs the webhook throttle and the WAF's webhook rules."""
        if not iam_auth and (method, path) not in WEBHOOK_ROUTES:
            raise ValueError(
                f"{method} {path} has no IAM auth but is not in WEBHOOK_ROUTES (rest_api.py): "
                "a public route needs its own throttle and the WAF's webhook exemptions"
            )
        resource = self.api.root.resource_for_path(path)
        request_parameters = {
            f"method.request.path.{name}": True for name in re.findall(r"\{(\w+)\}", path)
        }
        added = resource.add_method(
            method,
            apigw.LambdaIntegration(function, proxy=True),
            authorization_type=apigw.AuthorizationType.IAM
            if iam_auth
            else apigw.AuthorizationType.NONE,
            request_parameters=request_parameters or None,
            request_validator=self.validator,
        )
        acknowledge(
            added,
            "AwsSolutions-COG4",
            "Callers are AWS principals (operators, services) signing with SigV4; no user pool"
            if iam_auth
            else public_reason,
        )
        if not iam_auth:
            acknowledge(added, "AwsSolutions-APIG4", public_reason)
        return added
