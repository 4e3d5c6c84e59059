"""One granular cdk-nag acknowledgment: a rule (optionally a finding), on a scope, with a reason."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """`rule_id` as cdk-nag names it, e.g. `AwsSolutions-IAM5[Resource::*]`."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule_id}", reason=reason))
