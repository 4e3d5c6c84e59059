"""One granular cdk-nag acknowledgment: a rule (optionally a finding), on a scope, with a reason."""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

PACK = "AwsSolutions"


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """`rule_id` as cdk-nag names it, e.g. `AwsSolutions-IAM5[Resource::*]`."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{PACK}::{rule_id}", reason=reason))


def acknowledge_prefix(scope: IConstruct, bucket: s3.IBucket, prefix: str, reason: str) -> None:
    """IAM5 for object grants under one key prefix of `bucket` (`<bucket>.Arn/prefix*`): cdk-nag
    names the finding after the bucket's logical ID."""
    resource = cast(s3.CfnBucket, bucket.node.default_child)
    bucket_id = Stack.of(resource).resolve(resource.logical_id)
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/{prefix}*]", reason)
