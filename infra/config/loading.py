"""Selecting and validating one environment from the `cdk.json` context."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from infra.config.environment import EnvironmentSettings

ENVIRONMENTS_CONTEXT_KEY = "webhook-pipeline:environments"
ENV_CONTEXT_KEY = "env"
DEFAULT_ENV = "dev"


class ConfigError(Exception):
    """The selected environment is unknown or its settings are invalid."""


def load_settings(environments: Any, env_name: str | None) -> EnvironmentSettings:
    """Select and validate one environment from the `webhook-pipeline:environments` context."""
    if not isinstance(environments, dict) or not environments:
        raise ConfigError(f"cdk.json context '{ENVIRONMENTS_CONTEXT_KEY}' is missing or empty")
    name = env_name or DEFAULT_ENV
    if name not in environments:
        valid = ", ".join(sorted(environments))
        raise ConfigError(f"unknown environment '{name}': valid names are {valid}")
    try:
        return EnvironmentSettings.model_validate({**environments[name], "name": name})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings for environment '{name}': {problems}") from exc
