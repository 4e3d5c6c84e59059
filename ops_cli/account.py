"""Reads what `ops preflight` checks in the target account, through the CDK lookup role when the
caller may assume it (the CI deploy role may; that role can do nothing else)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.config import EnvironmentSettings
from ops_cli.preflight import CDK_QUALIFIER, AccountFacts, SecretState

_MISSING = ("ParameterNotFound", "ResourceNotFoundException", "ResourceNotFound")
Clients = Callable[[str], Any]  # service name → a client in the target region


class Boto3AccountReader:
    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session or boto3.session.Session()

    def facts(self, settings: EnvironmentSettings) -> AccountFacts:
        region = settings.region or self._session.region_name or "us-east-1"
        caller = self._session.client("sts", region_name=region).get_caller_identity()
        account, partition = caller["Account"], caller["Arn"].split(":")[1]
        notes: list[str] = []
        client = self._lookup_clients(account, partition, region, notes)
        stack = _stack(client, settings.stack_name)
        limit = client("lambda").get_account_settings()["AccountLimit"]
        return AccountFacts(
            caller_account=account,
            region=region,
            bootstrap_version=_bootstrap_version(client),
            concurrency_limit=int(limit["ConcurrentExecutions"]),
            unreserved_concurrency=int(limit["UnreservedConcurrentExecutions"]),
            stack_status=stack["StackStatus"] if stack else None,
            reserved_by_stack=_reserved_by(client, settings.stack_name) if stack else 0,
            secrets={
                key: _secret(client, name)
                for key, name in settings.secret_names.model_dump().items()
            },
            alarm_subscribers=_alarm_subscribers(client, stack) if stack else None,
            notes=notes,
        )

    def _lookup_clients(
        self, account: str, partition: str, region: str, notes: list[str]
    ) -> Clients:
        role = (
            f"arn:{partition}:iam::{account}:role/cdk-{CDK_QUALIFIER}-lookup-role-{account}-"
            f"{region}"
        )
        try:
            credentials = self._session.client("sts", region_name=region).assume_role(
                RoleArn=role, RoleSessionName="ops-preflight"
            )["Credentials"]
        except (BotoCoreError, ClientError) as exc:
            notes.append(f"read with the caller's credentials: could not assume {role} ({exc})")
            return _clients(self._session, region)
        notes.append(f"read through {role}")
        assumed = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
        return _clients(assumed, region)


def _clients(session: boto3.session.Session, region: str) -> Clients:
    def client(service: str) -> Any:
        return session.client(service, region_name=region)  # type: ignore[call-overload]

    return client


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _bootstrap_version(client: Clients) -> int | None:
    try:
        parameter = client("ssm").get_parameter(Name=f"/cdk-bootstrap/{CDK_QUALIFIER}/version")
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    return int(parameter["Parameter"]["Value"])


def _stack(client: Clients, name: str) -> dict[str, Any] | None:
    try:
        stacks = client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        raise
    return dict(stacks[0]) if stacks else None


def _reserved_by(client: Clients, stack_name: str) -> int:
    cloudformation, functions = client("cloudformation"), client("lambda")
    total = 0
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] != "AWS::Lambda::Function":
                continue
            name = resource.get("PhysicalResourceId")
            if not name:
                continue
            try:
                reserved = functions.get_function_concurrency(FunctionName=name)
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    continue
                raise
            total += int(reserved.get("ReservedConcurrentExecutions") or 0)
    return total


def _secret(client: Clients, name: str) -> SecretState | None:
    try:
        described = client("secretsmanager").describe_secret(SecretId=name)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    return SecretState(versions=len(described.get("VersionIdsToStages") or {}))


def _alarm_subscribers(client: Clients, stack: dict[str, Any]) -> tuple[int, int] | None:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    topic = outputs.get("AlarmTopicArn")
    if not topic:
        return None
    confirmed = pending = 0
    sns = client("sns")
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic):
        for subscription in page["Subscriptions"]:
            if subscription["SubscriptionArn"] == "PendingConfirmation":
                pending += 1
            elif subscription["SubscriptionArn"] != "Deleted":
                confirmed += 1
    return confirmed, pending
