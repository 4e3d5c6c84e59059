"""Secrets read at run time through Powertools Parameters, cached per container."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from shared import aws_clients

SECRET_MAX_AGE_SECONDS = 300


@lru_cache(maxsize=1)
def _provider() -> SecretsProvider:
    return SecretsProvider(boto3_client=aws_clients.secretsmanager())


def get_secret(name: str, *, force_fetch: bool = False) -> str:
    """The secret's string value; fetched at most every five minutes unless `force_fetch`."""
    value = _provider().get(name, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force_fetch)
    if not isinstance(value, str) or not value:
        raise ValueError(f"secret {name} has no string value")
    return value


def reset() -> None:
    _provider.cache_clear()
