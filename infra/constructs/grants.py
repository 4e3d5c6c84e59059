"""Exact-action grants: the helpers CDK offers (`grant_read_write_data`, ...) grant more."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs


def table_actions(table: dynamodb.ITable, role: iam.IRole, *actions: str) -> None:
    table.grant(role, *(f"dynamodb:{action}" for action in actions))


def send_to(queue: sqs.IQueue, role: iam.IRole) -> None:
    queue.grant(role, "sqs:SendMessage")


def read_secret(secret: secretsmanager.ISecret, role: iam.IRole) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn]
        )
    )


def objects(bucket: s3.IBucket, role: iam.IRole, prefix: str, *actions: str) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[f"s3:{action}" for action in actions],
            resources=[bucket.arn_for_objects(f"{prefix}*")],
        )
    )
