"""The pieces the API's web ACL is made of: the managed groups and the rules it counts, the
blocks' JSON responses, which routes a rule applies to (as URI path patterns), and the WAF
statements (path match, body size, and/or/not, a block with its response)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_wafv2 as wafv2

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


def path_matches(pattern: str) -> wafv2.CfnWebACL.StatementProperty:
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


def body_larger_than(size: int) -> wafv2.CfnWebACL.StatementProperty:
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


def not_(statement: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=statement)
    )


def and_(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        and_statement=wafv2.CfnWebACL.AndStatementProperty(statements=list(statements))
    )


def or_(*statements: wafv2.CfnWebACL.StatementProperty) -> wafv2.CfnWebACL.StatementProperty:
    return wafv2.CfnWebACL.StatementProperty(
        or_statement=wafv2.CfnWebACL.OrStatementProperty(statements=list(statements))
    )


def block(response: str) -> wafv2.CfnWebACL.RuleActionProperty:
    status, _ = RESPONSES[response]
    return wafv2.CfnWebACL.RuleActionProperty(
        block=wafv2.CfnWebACL.BlockActionProperty(
            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                response_code=status, custom_response_body_key=response
            )
        )
    )
