#!/usr/bin/env python3
"""CDK entry point: `cdk synth --context env=dev|staging|prod` builds that environment's stack."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import ENV_CONTEXT_KEY, ENVIRONMENTS_CONTEXT_KEY, ConfigError, load_settings
from infra.stacks.pipeline_stack import WebhookPipelineStack


def build_app(app: cdk.App) -> WebhookPipelineStack:
    settings = load_settings(
        app.node.try_get_context(ENVIRONMENTS_CONTEXT_KEY),
        app.node.try_get_context(ENV_CONTEXT_KEY),
    )
    stack = WebhookPipelineStack(
        app,
        settings.stack_name,
        settings=settings,
        env=cdk.Environment(account=settings.account, region=settings.region),
        description=f"Webhook Pipeline ({settings.name}): signed webhooks to processed events",
        # Stack tags: CloudFormation also puts them on resources CDK's Tags cannot reach
        # (e.g. the auto-delete custom resource provider).
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
