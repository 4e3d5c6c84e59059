"""Secrets Manager secrets the functions read at run time (never through env vars)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.nag import acknowledge

_NO_ROTATION = (
    "Rotated by hand: the value is issued by or shared with a third party (the marketplace, the "
    "ERP, the product-data provider), which must switch at the same time; webhook secrets "
    "accept two active values during the overlap"
)


class PipelineSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        # Fixed names: a deleted secret keeps its name for its recovery window, so a stack
        # deleted and created again could not create it; kept on update and delete instead.
        # A create that fails deletes them (RetainExceptOnCreate), so its retry can run.
        removal = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
        self.webhook_signing = self._secret(
            "WebhookSigningSecret",
            env.secret_names.webhook_signing,
            "Standard Webhooks signing secret(s) for the marketplace's order webhooks: one or "
            "more whitespace-separated keys, newest first, during a rotation",
            removal,
        )
        self.marketplace_api_token = self._secret(
            "MarketplaceApiToken",
            env.secret_names.marketplace_api_token,
            "Bearer token for the marketplace API. Generated as a placeholder: set the real "
            "token with `aws secretsmanager put-secret-value` before sending traffic",
            removal,
        )
        self.erp_webhook_keys = self._secret(
            "ErpWebhookKeys",
            env.secret_names.erp_webhook_keys,
            "X-Webhook-Key value(s) the ERP sends with its entity webhooks: one or two "
            "whitespace-separated keys, newest first, during a rotation",
            removal,
        )
        self.provider_api_key = self._secret(
            "ProviderApiKey",
            env.secret_names.provider_api_key,
            "API key for the product-data provider (catalog enrichment). Generated as a "
            "placeholder: set the real key with `aws secretsmanager put-secret-value`",
            removal,
        )
        for secret in (
            self.webhook_signing,
            self.marketplace_api_token,
            self.erp_webhook_keys,
            self.provider_api_key,
        ):
            acknowledge(secret, "AwsSolutions-SMG4", _NO_ROTATION)

    def _secret(
        self, construct_id: str, name: str, description: str, removal: RemovalPolicy
    ) -> secretsmanager.Secret:
        # Alphanumeric, 48 characters: also a valid base64 key, usable as `whsec_<value>`.
        return secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, include_space=False, password_length=48
            ),
            removal_policy=removal,
        )
