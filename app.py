#!/usr/bin/env python3
"""CDK entry point: `cdk synth --context env=dev|staging|prod` builds that environment's stack."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import ENV_CONTEXT_KEY, ENVIRONMENTS_CONTEXT_KEY, ConfigError, load_settings
from infra.stacks.deploy_identity_stack import DeployIdentityStack
from infra.stacks.pipeline_stack import WebhookPipelineStack


def build_app(app: cdk.App) -> WebhookPipelineStack:
    """The env's pipeline stack and, beside it, its deploy identity (deployed on its own by
    `make deploy-identity`; every deploy of the pipeline names its stack)."""
    settings = load_settings(
        app.node.try_get_context(ENVIRONMENTS_CONTEXT_KEY),
        app.node.try_get_context(ENV_CONTEXT_KEY),
    )
    target = cdk.Environment(account=settings.account, region=settings.region)
    stack = WebhookPipelineStack(
        app,
        settings.stack_name,
        settings=settings,
        env=target,
        description=f"Webhook Pipeline ({settings.name}): signed webhooks to processed events",
        termination_protection=settings.termination_protection,
        # Stack tags: CloudFormation also puts them on resources CDK's Tags cannot reach
        # (e.g. the auto-delete custom resource provider).
        tags=settings.tags,
    )
    DeployIdentityStack(
        app,
        settings.deploy_identity_stack_name,
        settings=settings,
        env=target,
        description=f"Webhook Pipeline ({settings.name}): GitHub OIDC roles that deploy it",
        termination_protection=settings.termination_protection,
        tags=settings.tags,
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(verbose=True))
    return stack


def main() -> None:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
