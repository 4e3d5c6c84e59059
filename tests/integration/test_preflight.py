"""`ops preflight` on moto: the repository's placeholder prod config is refused line by line, a
complete one passes, and each account problem a first or later deploy would hit is named."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.config import EnvironmentSettings, load_settings
from ops_cli.account import Boto3AccountReader
from ops_cli.main import main as ops
from ops_cli.preflight import preflight
from tests.support.settings import ACCOUNT, REGION, complete_prod, environments

STACK = "WebhookPipeline-prod"


def settings_of(document: dict[str, Any]) -> EnvironmentSettings:
    return load_settings({"prod": document}, "prod")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", raising=False)
    with mock_aws():
        yield


def bootstrap(version: int = 30) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/cdk-bootstrap/hnb659fds/version", Value=str(version), Type="String"
    )


def checks(settings: EnvironmentSettings, assembly: Path | None = None) -> list[str]:
    problems, _ = preflight(settings, Boto3AccountReader(), assembly)
    return [p.check for p in problems]


def messages(settings: EnvironmentSettings) -> list[str]:
    problems, _ = preflight(settings, Boto3AccountReader(), None)
    return [p.message for p in problems]


def deployed_stack(*, confirmed_subscriber: bool = True) -> None:
    """A stand-in for the pipeline stack: its alarm topic, as an output."""
    template = {
        "Resources": {"AlarmTopic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}}},
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    if confirmed_subscriber:
        outputs = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        topic = outputs[0]["OutputValue"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="pager")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"]
        )


def create_secrets(settings: EnvironmentSettings, *, partner_values_set: bool) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    for key, name in settings.secret_names.model_dump().items():
        secrets.create_secret(Name=name, SecretString="generated-initial-value")
        if partner_values_set or key not in ("marketplace_api_token", "provider_api_key"):
            secrets.put_secret_value(SecretId=name, SecretString="the partner's value")


def test_the_repositorys_prod_config_is_refused_one_line_per_problem(
    account: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the repository's own prod config (placeholders, not pinned) and an account without
    # a CDK bootstrap
    code = ops(["--env", "prod", "preflight"])

    # Then each problem is one line that says what to do, and nothing passes
    lines = capsys.readouterr().out.splitlines()
    refused = [line for line in lines if line.startswith("refused [")]
    assert code == 1
    assert [line.split("]")[0] + "]" for line in refused] == [
        "refused [target]",
        "refused [placeholder]",
        "refused [placeholder]",
        "refused [placeholder]",
        "refused [alarms]",
        "refused [bootstrap]",
    ]
    assert "set `account` and `region`" in refused[0]
    assert "https://api.qualia.example.com is a placeholder host" in refused[1]
    assert "https://orders.internal.example.com" in refused[2]
    assert "https://api.keepa.example.com" in refused[3]
    assert "alarm_email oncall@example.com is a placeholder address" in refused[4]
    assert f"{ACCOUNT}/{REGION} is not bootstrapped" in refused[5]
    assert "make bootstrap ENV=prod" in refused[5]
    assert lines[-1] == "preflight prod: 6 problem(s); nothing was deployed"


def test_a_complete_prod_config_on_a_bootstrapped_account_passes(account: None) -> None:
    # Given prod filled in and a bootstrapped account, before the first deploy
    bootstrap()
    settings = settings_of(complete_prod())

    problems, notes = preflight(settings, Boto3AccountReader(), None)

    # Then it is ready, read through the CDK lookup role
    assert problems == []
    assert notes == [
        f"read through arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-lookup-role-{ACCOUNT}-{REGION}"
    ]


def test_staging_unpinned_is_refused_but_dev_may_stay_unpinned(account: None) -> None:
    bootstrap()
    staging = {**complete_prod(), "account": None, "region": None}
    assert load_settings({"staging": staging}, "staging").account is None
    problems, _ = preflight(
        load_settings({"staging": staging}, "staging"), Boto3AccountReader(), None
    )
    assert [p.check for p in problems] == ["target"]
    dev = {**environments()["dev"]}
    assert "target" not in checks(load_settings({"dev": dev}, "dev"))


def test_credentials_for_another_account_are_refused(account: None) -> None:
    bootstrap()
    settings = settings_of({**complete_prod(), "account": "999999999999"})
    assert any(
        "the credentials are for account 123456789012 but prod is pinned to 999999999999" in m
        for m in messages(settings)
    )


def test_a_bootstrap_older_than_the_assembly_needs_is_refused(
    account: None, tmp_path: Path
) -> None:
    # Given an assembly whose lookup role needs bootstrap version 8, and version 6 deployed
    bootstrap(6)
    manifest = {"artifacts": {STACK: {"properties": {"requiresBootstrapStackVersion": 6,
                "lookupRole": {"requiresBootstrapStackVersion": 8}}}}}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    problems, _ = preflight(settings_of(complete_prod()), Boto3AccountReader(), tmp_path)
    assert [p.message for p in problems] == [
        f"the CDK bootstrap in {ACCOUNT}/{REGION} is version 6; this assembly needs 8: "
        "run make bootstrap ENV=prod"
    ]


def test_reserved_concurrency_beyond_what_the_account_can_give_is_refused(
    account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account limited to 200 concurrent executions: 100 must stay unreserved, and
    # prod reserves 50 + 50 + 20 + 10 = 130
    bootstrap()
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "200")
    [message] = messages(settings_of(complete_prod()))
    assert message.startswith(
        "prod reserves 130 concurrent executions but the account (limit 200, 200 unreserved) "
        "can give it 100 while keeping 100 unreserved"
    )
    # With 230 it fits exactly
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "230")
    assert messages(settings_of(complete_prod())) == []


def test_a_partner_secret_still_at_its_generated_value_is_refused_once_deployed(
    account: None,
) -> None:
    bootstrap()
    settings = settings_of(complete_prod())
    deployed_stack()
    create_secrets(settings, partner_values_set=False)

    found = messages(settings)

    assert found == [
        f"secret {settings.secret_names.marketplace_api_token} still holds its generated initial "
        "value: put the marketplace's API token (`aws secretsmanager put-secret-value "
        f"--secret-id {settings.secret_names.marketplace_api_token} --secret-string ...`)",
        f"secret {settings.secret_names.provider_api_key} still holds its generated initial "
        "value: put the product-data provider's API key (`aws secretsmanager put-secret-value "
        f"--secret-id {settings.secret_names.provider_api_key} --secret-string ...`)",
    ]
    # When the partner's values are put, Then it passes
    secrets = boto3.client("secretsmanager", region_name=REGION)
    for name in (
        settings.secret_names.marketplace_api_token,
        settings.secret_names.provider_api_key,
    ):
        secrets.put_secret_value(SecretId=name, SecretString="from the partner")
    assert messages(settings) == []


def test_secrets_left_by_a_deleted_stack_are_refused_before_a_create(account: None) -> None:
    # Given the stack was deleted (its secrets are retained) and is about to be created again
    bootstrap()
    settings = settings_of(complete_prod())
    create_secrets(settings, partner_values_set=True)

    found = messages(settings)

    assert len(found) == 4
    assert all(
        m.startswith("secret webhook-pipeline/prod/")
        and "exists but stack WebhookPipeline-prod does not: creating the stack would fail" in m
        for m in found
    )


def test_an_alarm_topic_without_a_confirmed_subscriber_is_refused(account: None) -> None:
    bootstrap()
    settings = settings_of(complete_prod())
    deployed_stack(confirmed_subscriber=False)
    assert messages(settings) == [
        "the alarm topic has no confirmed subscriber (0 pending): confirm the subscription "
        "email sent to the on-call address, or subscribe a pager"
    ]
