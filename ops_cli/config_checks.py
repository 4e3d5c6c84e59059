"""What an env's config alone says cannot work in a real account (the first half of
`ops preflight`): a staging or prod env not pinned to an account, placeholder peer URLs, alarms
that would page no one."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from infra.config import EnvironmentSettings

# Reserved for documentation and testing (RFC 2606, RFC 6761), or this machine.
_PLACEHOLDER_SUFFIXES = (".example", ".test", ".invalid", ".localhost")
_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")
_PLACEHOLDER_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 - a name, not a bind
STRICT_ENVS = frozenset({"staging", "prod"})


@dataclass(frozen=True)
class Problem:
    check: str
    message: str  # what is wrong and what to do, on one line


def is_placeholder_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return (
        host in _PLACEHOLDER_HOSTS
        or host.endswith(_PLACEHOLDER_SUFFIXES)
        or any(host == d or host.endswith(f".{d}") for d in _PLACEHOLDER_DOMAINS)
        or host.split(".")[-1] in {s.lstrip(".") for s in _PLACEHOLDER_SUFFIXES}
    )


def config_problems(settings: EnvironmentSettings) -> list[Problem]:
    """What the env's config alone says cannot work."""
    problems: list[Problem] = []
    where = f"cdk.json webhook-pipeline:environments.{settings.name}"
    strict = settings.name in STRICT_ENVS
    if strict and not (settings.account and settings.region):
        problems.append(
            Problem(
                "target",
                f"{settings.name} is not pinned to an account and region: set `account` and "
                f"`region` in {where}, so it deploys only there",
            )
        )
    if strict:
        urls = {
            "marketplace_api_base_url": settings.marketplace_api_base_url,
            "internal_api_base_url": settings.internal_api_base_url,
            "enrichment.provider_api_base_url": settings.enrichment.provider_api_base_url,
            "runbook_url": settings.runbook_url,
        }
        for key, url in urls.items():
            host = urlsplit(str(url)).hostname or ""
            if is_placeholder_host(host):
                problems.append(
                    Problem(
                        "placeholder",
                        f"{key} {str(url).rstrip('/')} is a placeholder host: set the real URL "
                        f"in {where}",
                    )
                )
    email = settings.alarm_email
    if settings.alarms.actions_enabled:
        if email is None:
            problems.append(
                Problem(
                    "alarms",
                    f"alarms notify the alarm topic but no one is subscribed: set alarm_email "
                    f"to the on-call address in {where} (or set alarms.actions_enabled false)",
                )
            )
        elif is_placeholder_host(email.rsplit("@", 1)[-1]):
            problems.append(
                Problem(
                    "alarms",
                    f"alarm_email {email} is a placeholder address: alarms would page no one; "
                    f"set the on-call address in {where}",
                )
            )
    return problems
