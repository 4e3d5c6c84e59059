"""The API stage's AWS WAF web ACL: what the edge refuses before API Gateway runs a method.

A REGIONAL web ACL in front of the stage: AWS's core and known-bad-inputs rule groups, a per-IP
rate limit and a body-size rule, default action ALLOW. Every request WAF blocks with one of our
own rules answers in the API's JSON envelope; a block by a managed rule (its own Block action)
reaches the client as API Gateway's WAF_FILTERED response, which the API's DEFAULT_4XX gateway
response renders in the same envelope (code WAF_FILTERED). The statements it is made of are in
waf_statements.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.log_groups import log_group
from infra.constructs.waf_statements import (
    BLOCKED,
    BODY_TOO_LARGE,
    CORE_RULE_SET,
    CORE_RULE_SET_LABEL,
    COUNTED_CORE_RULES,
    KNOWN_BAD_INPUTS,
    PARTNER_SENSITIVE_RULES,
    RATE_LIMITED,
    RATE_WINDOW_SECONDS,
    RESPONSES,
    EdgeRoutes,
    and_,
    block,
    body_larger_than,
    not_,
    or_,
    path_matches,
    path_pattern,
)

# Credentials a logged request would otherwise carry in clear: the order webhook's signature
# (replayable within its tolerance), the ERP key, the operators' SigV4 header and session token.
REDACTED_HEADERS = ("webhook-signature", "x-webhook-key", "authorization", "x-amz-security-token")


class ApiWebAcl(Construct):
    """The web ACL and its association with `stage`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env: EnvironmentSettings,
        stage: apigw.Stage,
        routes: EdgeRoutes,
    ) -> None:
        super().__init__(scope, construct_id)
        self.metric_prefix = env.stack_name
        self.acl = self._build_acl(env, self._rules(env, routes))
        # The stage's ARN refers to the stage: CloudFormation creates it first (WAF refuses to
        # associate a stage that does not exist yet).
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.acl.attr_arn
        )
        self._log_what_was_not_allowed(env)

    def _rules(
        self, env: EnvironmentSettings, routes: EdgeRoutes
    ) -> list[wafv2.CfnWebACL.RuleProperty]:
        webhooks = path_matches(path_pattern(env.name, routes.webhooks))
        partner_labels = [
            wafv2.CfnWebACL.StatementProperty(
                label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                    scope="LABEL", key=f"{CORE_RULE_SET_LABEL}{label}"
                )
            )
            for label in PARTNER_SENSITIVE_RULES.values()
        ]
        per_ip = wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=env.api.waf.rate_limit_per_5_minutes,
                evaluation_window_sec=RATE_WINDOW_SECONDS,
            )
        )
        return [
            self._managed(0, "CommonRuleSet", CORE_RULE_SET, counted=COUNTED_CORE_RULES),
            self._managed(1, "KnownBadInputs", KNOWN_BAD_INPUTS),
            # After the core rule set (its labels are only visible to later rules).
            self._rule(
                2,
                "PartnerRulesOutsideWebhooks",
                and_(or_(*partner_labels), not_(webhooks)),
                block(BLOCKED),
            ),
            self._rule(3, "RateLimitPerIp", per_ip, block(RATE_LIMITED)),
            self._rule(4, "BodySize", self._body_size(env, routes), block(BODY_TOO_LARGE)),
        ]

    def _build_acl(
        self, env: EnvironmentSettings, rules: list[wafv2.CfnWebACL.RuleProperty]
    ) -> wafv2.CfnWebACL:
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=f"{env.stack_name}-api",
            # WAF descriptions allow no parentheses or quotes.
            description=f"Webhook Pipeline {env.name}: firewall of the REST API stage",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(
                allow=wafv2.CfnWebACL.AllowActionProperty()
            ),
            rules=rules,
            custom_response_bodies={
                key: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=content
                )
                for key, (_, content) in RESPONSES.items()
            },
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit=f"KB_{env.api.waf.body_inspection_limit_kb}"
                    )
                }
            ),
            visibility_config=self._visibility("WebAcl"),
        )

    def _log_what_was_not_allowed(self, env: EnvironmentSettings) -> None:
        """Every request a rule blocked or counted, to a log group on-call can query ("why did
        the partner get 403?"): allowed requests are in the API's access log already. The
        credentials headers are redacted before WAF writes the record."""
        self.logs = log_group(self, "Logs", env, name=f"aws-waf-logs-{env.stack_name}-api")
        stack = Stack.of(self)
        # WAF wants the group's ARN without the `:*` suffix CDK's log_group_arn carries.
        destination = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.logs.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

        # CloudFormation types LoggingFilter as plain JSON: CDK passes it through unconverted.
        def kept_on(action: str) -> dict[str, object]:
            condition = {"ActionCondition": {"Action": action}}
            return {"Behavior": "KEEP", "Requirement": "MEETS_ANY", "Conditions": [condition]}

        self.logging = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.acl.attr_arn,
            log_destination_configs=[destination],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
            logging_filter={
                "DefaultBehavior": "DROP",
                "Filters": [kept_on("BLOCK"), kept_on("COUNT")],
            },
        )

    @staticmethod
    def _body_size(
        env: EnvironmentSettings, routes: EdgeRoutes
    ) -> wafv2.CfnWebACL.StatementProperty:
        """Hold each route to the body it takes, as far as WAF can see one.

        API Gateway hands WAF only the first `body_inspection_limit_kb` of a body; past that WAF
        cannot tell 20 KB from 6 MB, and Content-Length is not a number to WAF (a size constraint
        measures the header's characters; a regex could compare digits, but only of the length
        the client declares, and a chunked body declares none). So:
        - the large-body routes (ERP webhooks, catalog requests) are not size-checked here: their
          functions refuse a body over api.max_request_body_bytes with 413, and Lambda refuses a
          synchronous payload over 6 MB before any invocation;
        - the other routes that take a body (the order webhook: a thin event of a few hundred
          bytes) are blocked past the inspection limit, an oversize body included;
        - every other route (operators, catalog reads) takes no body: any body is blocked.
        """
        bodies = path_matches(path_pattern(env.name, routes.bodies))
        large_bodies = path_matches(path_pattern(env.name, routes.large_bodies))
        return and_(
            not_(large_bodies),
            or_(
                body_larger_than(env.api.waf.body_inspection_limit_bytes),
                and_(body_larger_than(0), not_(bodies)),
            ),
        )

    def _visibility(self, name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            sampled_requests_enabled=True,
            metric_name=f"{self.metric_prefix}-{name}",
        )

    def _rule(
        self,
        priority: int,
        name: str,
        statement: wafv2.CfnWebACL.StatementProperty,
        action: wafv2.CfnWebACL.RuleActionProperty,
    ) -> wafv2.CfnWebACL.RuleProperty:
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            statement=statement,
            action=action,
            visibility_config=self._visibility(name),
        )

    def _managed(
        self, priority: int, name: str, group: str, *, counted: Sequence[str] = ()
    ) -> wafv2.CfnWebACL.RuleProperty:
        overrides = [
            wafv2.CfnWebACL.RuleActionOverrideProperty(
                name=rule,
                action_to_use=wafv2.CfnWebACL.RuleActionProperty(
                    count=wafv2.CfnWebACL.CountActionProperty()
                ),
            )
            for rule in counted
        ]
        return wafv2.CfnWebACL.RuleProperty(
            name=name,
            priority=priority,
            statement=wafv2.CfnWebACL.StatementProperty(
                managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                    vendor_name="AWS", name=group, rule_action_overrides=overrides or None
                )
            ),
            override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
            visibility_config=self._visibility(name),
        )
