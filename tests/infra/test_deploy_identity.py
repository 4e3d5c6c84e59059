"""The deploy identity stack: GitHub OIDC roles trusted only for this repository and env, allowed
only what CI deploys, diffs and smoke tests need."""

from __future__ import annotations

from typing import Any

from infra.stacks.deploy_identity_stack import BOOTSTRAP_ROLES, GITHUB_OIDC_HOST
from tests.infra.synthesis import Synth, settings

REPOSITORY = "webhook-pipeline/webhook-pipeline"


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def role(template: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [r for k, r in resources(template, "AWS::IAM::Role").items() if k.startswith(name)]
    return found


def trust(template: dict[str, Any], name: str) -> dict[str, Any]:
    [statement] = role(template, name)["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return dict(statement)


def allowed(template: dict[str, Any], name: str) -> list[tuple[str, str]]:
    role_id = next(k for k in resources(template, "AWS::IAM::Role") if k.startswith(name))
    pairs = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions, targets = statement["Action"], statement["Resource"]
            for action in [actions] if isinstance(actions, str) else actions:
                for target in targets if isinstance(targets, list) else [targets]:
                    pairs.append((action, _text(target)))
    return pairs


def _text(value: Any) -> str:
    """An ARN built with Fn::Join, as text with the pseudo parameters named."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(_text(part) for part in value["Fn::Join"][1])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise AssertionError(f"unexpected {value}")


def test_the_account_gets_githubs_oidc_provider_for_sts(synth: Synth) -> None:
    [provider] = resources(synth.identity, "AWS::IAM::OIDCProvider").values()
    assert provider["Properties"]["Url"] == f"https://{GITHUB_OIDC_HOST}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]


def test_the_deploy_role_trusts_only_this_repositorys_env_environment(synth: Synth) -> None:
    statement = trust(synth.identity, "DeployRole")
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{GITHUB_OIDC_HOST}:sub": [f"repo:{REPOSITORY}:environment:{synth.env}"],
        }
    }
    assert "Ref" in statement["Principal"]["Federated"]  # the provider this stack creates


def test_the_deploy_role_may_only_assume_the_cdk_bootstrap_roles(synth: Synth) -> None:
    assert sorted(allowed(synth.identity, "DeployRole")) == sorted(
        (action, f"arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-{kind}-role-"
                 "<AWS::AccountId>-<AWS::Region>")
        for kind in BOOTSTRAP_ROLES
        for action in ("sts:AssumeRole", "sts:TagSession")
    )  # fmt: skip
    assert role(synth.identity, "DeployRole")["Properties"]["MaxSessionDuration"] == 3600


def test_the_diff_role_trusts_pull_requests_and_main_and_only_looks_up(synth: Synth) -> None:
    statement = trust(synth.identity, "DiffRole")
    assert statement["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] == [
        f"repo:{REPOSITORY}:pull_request",
        f"repo:{REPOSITORY}:ref:refs/heads/main",
    ]
    lookup = "arn:<AWS::Partition>:iam::<AWS::AccountId>:role/cdk-hnb659fds-lookup-role-"
    assert sorted(allowed(synth.identity, "DiffRole")) == [
        ("sts:AssumeRole", f"{lookup}<AWS::AccountId>-<AWS::Region>"),
        ("sts:TagSession", f"{lookup}<AWS::AccountId>-<AWS::Region>"),
    ]


def test_the_smoke_role_reads_two_secrets_the_stack_and_calls_the_smoke_routes(
    synth: Synth,
) -> None:
    config = settings(synth.env)
    statement = trust(synth.identity, "SmokeRole")
    assert statement["Condition"]["StringEquals"][f"{GITHUB_OIDC_HOST}:sub"] == [
        f"repo:{REPOSITORY}:environment:{synth.env}"
    ]
    prefix = "arn:<AWS::Partition>"
    where = "<AWS::Region>:<AWS::AccountId>"
    names = config.secret_names
    assert sorted(allowed(synth.identity, "SmokeRole")) == sorted(
        [
            ("cloudformation:DescribeStacks",
             f"{prefix}:cloudformation:{where}:stack/WebhookPipeline-{synth.env}/*"),
            ("secretsmanager:GetSecretValue",
             f"{prefix}:secretsmanager:{where}:secret:{names.webhook_signing}-??????"),
            ("secretsmanager:GetSecretValue",
             f"{prefix}:secretsmanager:{where}:secret:{names.erp_webhook_keys}-??????"),
            *(("execute-api:Invoke", f"{prefix}:execute-api:{where}:*/{synth.env}/{route}")
              for route in ("GET/health", "GET/events/*", "POST/catalogs/*/enrichments",
                            "GET/catalogs/*/enrichments")),
        ]
    )  # fmt: skip


def test_the_identity_stack_outputs_the_three_role_arns(synth: Synth) -> None:
    assert set(synth.identity["Outputs"]) == {"DeployRoleArn", "DiffRoleArn", "SmokeRoleArn"}
