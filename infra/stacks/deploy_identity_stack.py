"""Who deploys an environment from CI, as code: GitHub's OIDC provider and three roles that the
GitHub Actions of one repository assume without long-lived keys.

- The deploy role: only the jobs of the repository's GitHub environment named like this env;
  it may do nothing but assume the CDK bootstrap roles (which deploy, publish assets and look
  up), so what it can change is what a CDK deploy of this account can change.
- The diff role: pull requests and pushes to main; it may assume only the read-only lookup
  role, enough for `cdk diff --no-change-set`.
- The smoke role: the same environment's jobs; it reads the stack's outputs and the two webhook
  secrets and calls the env's API routes the smoke test uses, nothing else.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack, Tags
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.nag import acknowledge

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"
CDK_QUALIFIER = "hnb659fds"  # the CDK bootstrap's default qualifier
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")
# What `ops smoke` calls: health, the ping's event, and the catalog API's ping enrichment.
SMOKE_ROUTES = (
    "GET/health",
    "GET/events/*",
    "POST/catalogs/*/enrichments",
    "GET/catalogs/*/enrichments",
)


class DeployIdentityStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        identity = settings.deploy_identity
        provider_arn = self._provider(identity.create_oidc_provider)
        repository = identity.github_repository
        environment_subject = f"repo:{repository}:environment:{settings.name}"

        self.deploy_role = self._github_role(
            "DeployRole",
            provider_arn,
            [environment_subject],
            f"CI deploys of {settings.stack_name}: may only assume the CDK bootstrap roles",
        )
        self.deploy_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[self._bootstrap_role(role) for role in BOOTSTRAP_ROLES],
            )
        )
        self.diff_role = self._github_role(
            "DiffRole",
            provider_arn,
            [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/main"],
            f"CI diffs of {settings.stack_name}: may only assume the read-only CDK lookup role",
        )
        self.diff_role.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[self._bootstrap_role("lookup")],
            )
        )
        self.smoke_role = self._github_role(
            "SmokeRole",
            provider_arn,
            [environment_subject],
            f"CI smoke tests of {settings.stack_name}: its outputs, two secrets, its API",
        )
        self._grant_smoke(self.smoke_role, settings)

        for name, role in (
            ("DeployRoleArn", self.deploy_role),
            ("DiffRoleArn", self.diff_role),
            ("SmokeRoleArn", self.smoke_role),
        ):
            CfnOutput(self, name, value=role.role_arn)

    def _provider(self, create: bool) -> str:
        if create:
            return iam.OidcProviderNative(
                self,
                "GitHubOidc",
                url=f"https://{GITHUB_OIDC_HOST}",
                client_ids=[STS_AUDIENCE],
            ).oidc_provider_arn
        return self.format_arn(
            service="iam", region="", resource="oidc-provider", resource_name=GITHUB_OIDC_HOST
        )

    def _github_role(
        self, construct_id: str, provider_arn: str, subjects: list[str], description: str
    ) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            description=description,
            max_session_duration=Duration.hours(1),
            assumed_by=iam.WebIdentityPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": STS_AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subjects,
                    }
                },
            ),
        )

    def _bootstrap_role(self, kind: str) -> str:
        return self.format_arn(
            service="iam",
            region="",
            resource="role",
            resource_name=f"cdk-{CDK_QUALIFIER}-{kind}-role-{self.account}-{self.region}",
        )

    def _grant_smoke(self, role: iam.Role, settings: EnvironmentSettings) -> None:
        self._allow(
            role,
            settings,
            "cloudformation:DescribeStacks",
            f"stack/{settings.stack_name}/*",
            "a stack's ARN ends in a generated id; only this env's stack is named",
        )
        for name in (settings.secret_names.webhook_signing, settings.secret_names.erp_webhook_keys):
            self._allow(
                role,
                settings,
                "secretsmanager:GetSecretValue",
                f"secret:{name}-??????",
                "Secrets Manager appends six random characters to a secret's ARN; the pattern "
                "names this one secret",
            )
        for route in SMOKE_ROUTES:
            self._allow(
                role,
                settings,
                "execute-api:Invoke",
                f"*/{settings.name}/{route}",
                "the REST API's id is generated when the pipeline stack is created, after this "
                "one; the stage (this env) and the route are fixed",
            )

    def _allow(
        self, role: iam.Role, settings: EnvironmentSettings, action: str, resource: str, why: str
    ) -> None:
        """One action on one resource pattern, with the cdk-nag finding it raises acknowledged
        for its reason (the finding names the resource as cdk-nag renders it)."""
        service = action.split(":", 1)[0]
        region, account = settings.region or "<AWS::Region>", settings.account or "<AWS::AccountId>"
        arn = f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"
        role.add_to_policy(iam.PolicyStatement(actions=[action], resources=[arn]))
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:{region}:{account}:"
            f"{resource}]",
            f"Smoke test: {action} only; {why}",
        )
