"""The API stage's AWS WAF web ACL: what the edge refuses before API Gateway runs a method.

A REGIONAL web ACL in front of the stage: AWS's core and known-bad-inputs rule groups, a per-IP
rate limit and a body-size rule, default action ALLOW. Every request WAF blocks with one of our
own rules answers in the API's JSON envelope; a block by a managed rule (its own Block action)
reaches the client as API Gateway's WAF_FILTERED response, which the API's DEFAULT_4XX gateway
response renders in the same envelope (code WAF_FILTERED).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.log_groups import log_group

CORE_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
CORE_RULE_SET_LABEL = "awswaf:managed:aws:core-rule-set:"
RATE_WINDOW_SECONDS = 300

# Core rule set rules that would break the partners' webhooks, each counted (its metric and label
# stay) instead of blocking, by name -> the label it adds:
# - SizeRestrictions_BODY blocks every body over 8 KB: ERP webhooks and catalog requests carry up
#   to api.max_request_body_bytes. The BodySize rule below holds each route to what it accepts.
# - CrossSiteScripting_BODY, GenericLFI_BODY and GenericRFI_BODY match the text of the partners'
#   JSON: ERP records carry rich-text (HTML) descriptions, file names and paths of attachments,
#   URLs with IP hosts. Nothing of a webhook body is ever rendered as HTML, opened as a path or
#   fetched here, while a block loses a signed delivery (the sender retries, then gives up).
# - NoUserAgent_HEADER: a webhook sender's HTTP client need not send a User-Agent, and a missing
#   one says nothing about a request whose signature or key the function checks.
# On every other route (operators and the catalog API, our own SigV4 callers) these four still
# block: the PartnerRulesOutsideWebhooks rule blocks on their labels there.
PARTNER_SENSITIVE_RULES = {
    "CrossSiteScripting_BODY": "CrossSiteScripting_Body",
    "GenericLFI_BODY": "GenericLFI_Body",
    "GenericRFI_BODY": "GenericRFI_Body",
    "NoUserAgent_HEADER": "NoUserAgent_Header",
}
COUNTED_CORE_RULES = ("SizeRestrictions_BODY", *PARTNER_SENSITIVE_RULES)

BLOCKED, BODY_TOO_LARGE, RATE_LIMITED = "blocked", "body-too-large", "rate-limited"

# Credentials a logged request would otherwise carry in clear: the order webhook's signature
# (replayable within its tolerance), the ERP key, the operators' SigV4 header and session token.
REDACTED_HEADERS = ("webhook-signature", "x-webhook-key", "authorization", "x-amz-security-token")


def envelope(code: str, message: str) -> str:
    """The handlers' failure envelope. WAF answers before API Gateway assigns a request id."""
    error = {"code": code, "message": message, "details": None}
    return json.dumps({"status": "failure", "data": None, "error": error, "request_id": None})


RESPONSES = {
    BLOCKED: (403, envelope("WAF_BLOCKED", "the request was refused by the API's firewall")),
    BODY_TOO_LARGE: (
        403,
        envelope("WAF_BLOCKED", "the request body is larger than this route accepts"),
    ),
    RATE_LIMITED: (
        429,
        envelope("RATE_LIMITED", "too many requests from this address; retry later"),
    ),
}


@dataclass(frozen=True)
class EdgeRoutes:
    """What the web ACL knows of the API's routes: resource paths, `{param}` one segment."""

    webhooks: tuple[str, ...]  # partner JSON: PARTNER_SENSITIVE_RULES only count there
    bodies: tuple[str, ...]  # the routes that take a body at all; any other route takes none
    large_bodies: tuple[str, ...]  # of those, the ones whose bodies can exceed WAF's view


def path_pattern(stage_name: str, paths: Sequence[str]) -> str:
    """A regex for the URI path WAF sees: `/<stage>` first on the execute-api URL (none through
    a custom domain mapped at its root), then one of `paths`, a trailing slash tolerated."""
    alternatives = []
    for path in paths:
        segments = []
        for segment in path.strip("/").split("/"):
            if re.fullmatch(r"\{\w+\}", segment):
                segments.append("[^/]+")
            elif re.fullmatch(r"[A-Za-z0-9_]+", segment):
                segments.append(segment)
            else:
                raise ValueError(f"{path}: segment {segment!r} has no WAF pattern")
        alternatives.append("/".join(segments))
    return f"^(/{re.escape(stage_name)})?/({'|'.join(alternatives)})/?$"


def _path_matches(pattern: str) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
            regex_string=pattern,
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
            # The path as sent: API Gateway routes on it undecoded, so an encoded path that
            # only matched after decoding would be a route the exemption was not made for.
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )


def _body_larger_than(size: int) -> wafv2.CfnWebACL.StatementProperty:
    """True for a body over `size` bytes; a body past WAF's inspection limit counts as larger."""
    return wafv2.CfnWebACL.StatementProperty(
        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
            ),
            comparison_operator="GT",
            size=size,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
            ],
        )
    )


def _not(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
    )


def _and(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=list(statements))
    )


def _or(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=list(statements))
    )


def _block(response: str) -> wafv2.CfnWebACL.RuleActionProperty:
    status, _ = RESPONSES[response]
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=response
            )
        )
    )


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
        settings = env.api.waf
        self.metric_prefix = env.stack_name
        webhooks = _path_matches(path_pattern(env.name, routes.webhooks))
        partner_labels = [
            wafv2.CfnWebACL.StatementProperty(
                label_match_statement=wafv2.CfnWebACL.LabelMatchStatementProperty(
                    scope="LABEL", key=f"{CORE_RULE_SET_LABEL}{label}"
                )
            )
            for label in PARTNER_SENSITIVE_RULES.values()
        ]
        rules = [
            self._managed(0, "CommonRuleSet", CORE_RULE_SET, counted=COUNTED_CORE_RULES),
            self._managed(1, "KnownBadInputs", KNOWN_BAD_INPUTS),
            # After the core rule set (its labels are only visible to later rules).
            self._rule(
                2,
                "PartnerRulesOutsideWebhooks",
                _and(_or(*partner_labels), _not(webhooks)),
                _block(BLOCKED),
            ),
            self._rule(
                3,
                "RateLimitPerIp",
                wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP",
                        limit=settings.rate_limit_per_5_minutes,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                    )
                ),
                _block(RATE_LIMITED),
            ),
            self._rule(4, "BodySize", self._body_size(env, routes), _block(BODY_TOO_LARGE)),
        ]
        self.acl = wafv2.CfnWebACL(
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
                        default_size_inspection_limit=f"KB_{settings.body_inspection_limit_kb}"
                    )
                }
            ),
            visibility_config=self._visibility("WebAcl"),
        )
        # The stage's ARN refers to the stage: CloudFormation creates it first (WAF refuses to
        # associate a stage that does not exist yet).
        self.association = wafv2.CfnWebACLAssociation(
            self, "Association", resource_arn=stage.stage_arn, web_acl_arn=self.acl.attr_arn
        )
        self._log_what_was_not_allowed(env)

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
        bodies = _path_matches(path_pattern(env.name, routes.bodies))
        large_bodies = _path_matches(path_pattern(env.name, routes.large_bodies))
        return _and(
            _not(large_bodies),
            _or(
                _body_larger_than(env.api.waf.body_inspection_limit_bytes),
                _and(_body_larger_than(0), _not(bodies)),
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
