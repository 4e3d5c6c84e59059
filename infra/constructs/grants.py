"""Exact-action grants: the helpers CDK offers (`grant_read_write_data`, ...) grant more."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs

from infra.constructs.queue_with_dlq import QueueWithDlq


def table_actions(table: dynamodb.ITable, role: iam.IRole, *actions: str) -> None:
    """Item actions on the table itself (`table.grant` would add every index too)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[f"dynamodb:{action}" for action in actions], resources=[table.table_arn]
        )
    )


def intake(events: dynamodb.ITable, role: iam.IRole) -> None:
    """What a webhook ingest needs to record and de-duplicate an event: the conditional PutItem
    that is both the event and its idempotency record, and the UpdateItem that settles it."""
    table_actions(events, role, "PutItem", "UpdateItem")


def query_indexes(table: dynamodb.ITable, role: iam.IRole, *indexes: str) -> None:
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["dynamodb:Query"],
            resources=[f"{table.table_arn}/index/{index}" for index in indexes],
        )
    )


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


def bucket_listing(bucket: s3.IBucket, role: iam.IRole) -> None:
    """s3:ListBucket on the bucket itself: what HeadBucket (a health check) needs."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )


def operate_queue(pair: QueueWithDlq, role: iam.IRole) -> None:
    """Read depths, replay into the source queue, and redrive the DLQ (SQS message move tasks
    need receive/delete on the DLQ and send on the source, on top of the task actions)."""
    pair.queue.grant(role, "sqs:GetQueueAttributes", "sqs:SendMessage")
    pair.dlq.grant(
        role,
        "sqs:GetQueueAttributes",
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:CancelMessageMoveTask",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    )
