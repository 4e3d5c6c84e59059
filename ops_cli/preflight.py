"""`ops preflight --env ENV`: refuse a deploy that cannot succeed, one line per problem saying
what to do, before CloudFormation is asked to do anything.

The checks read the env's config (cdk.json) and the target account. In the account they read
through the CDK bootstrap's lookup role (read-only, what `cdk diff` uses) when the caller may
assume it, as the CI deploy role may; else with the caller's own credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from infra.config import EnvironmentSettings
from ops_cli.config_checks import Problem, config_problems

# Lambda keeps this much of an account's concurrency unreserved, whatever is asked.
MIN_UNRESERVED_CONCURRENCY = 100
# What this app's assembly asks of the bootstrap when no assembly is at hand (its lookup role
# needs 8); a synthesized assembly's manifest says exactly.
DEFAULT_BOOTSTRAP_VERSION = 8
CDK_QUALIFIER = "hnb659fds"
# Values the partner issues: until they are set the pipeline fails every event that needs them.
PARTNER_SECRETS = {
    "marketplace_api_token": "the marketplace's API token",
    "provider_api_key": "the product-data provider's API key",
}


@dataclass(frozen=True)
class SecretState:
    versions: int  # how many versions it has had kept; 1: still the value it was created with


@dataclass(frozen=True)
class AccountFacts:
    """What the checks need to know about the target account, read once."""

    caller_account: str
    region: str
    bootstrap_version: int | None
    concurrency_limit: int
    unreserved_concurrency: int
    stack_status: str | None  # None: the stack does not exist yet
    reserved_by_stack: int  # what the stack's functions reserve today
    secrets: dict[str, SecretState | None]  # by config key (`secret_names.<key>`)
    alarm_subscribers: tuple[int, int] | None  # (confirmed, pending), None: no topic yet
    notes: list[str] = field(default_factory=list)


def account_problems(
    settings: EnvironmentSettings, facts: AccountFacts, required_bootstrap: int
) -> list[Problem]:
    """What the target account says cannot work."""
    problems: list[Problem] = []
    if settings.account and facts.caller_account != settings.account:
        problems.append(
            Problem(
                "target",
                f"the credentials are for account {facts.caller_account} but {settings.name} "
                f"is pinned to {settings.account}: use credentials for {settings.account}",
            )
        )
    problems += _stack_problems(settings, facts)
    problems += _bootstrap_problems(settings, facts, required_bootstrap)
    problems += _concurrency_problems(settings, facts)
    problems += _secret_problems(settings, facts)
    if settings.alarms.actions_enabled and facts.alarm_subscribers is not None:
        confirmed, pending = facts.alarm_subscribers
        if confirmed == 0:
            problems.append(
                Problem(
                    "alarms",
                    f"the alarm topic has no confirmed subscriber ({pending} pending): confirm "
                    "the subscription email sent to the on-call address, or subscribe a pager",
                )
            )
    return problems


def _stack_problems(settings: EnvironmentSettings, facts: AccountFacts) -> list[Problem]:
    problems: list[Problem] = []
    status = facts.stack_status or ""
    if status == "ROLLBACK_COMPLETE":
        problems.append(
            Problem(
                "stack",
                f"{settings.stack_name} is ROLLBACK_COMPLETE (its first create failed) and cannot "
                f"be updated: `aws cloudformation delete-stack --stack-name {settings.stack_name}`"
                ", then deploy again",
            )
        )
    elif status.endswith("_IN_PROGRESS"):
        problems.append(
            Problem(
                "stack",
                f"{settings.stack_name} is {status}: another deploy is running; wait for it",
            )
        )
    return problems


def _bootstrap_problems(
    settings: EnvironmentSettings, facts: AccountFacts, required_bootstrap: int
) -> list[Problem]:
    problems: list[Problem] = []
    where = f"{facts.caller_account}/{facts.region}"
    if facts.bootstrap_version is None:
        problems.append(
            Problem(
                "bootstrap",
                f"{where} is not bootstrapped for CDK (no /cdk-bootstrap/{CDK_QUALIFIER}/version): "
                f"run make bootstrap ENV={settings.name}",
            )
        )
    elif facts.bootstrap_version < required_bootstrap:
        problems.append(
            Problem(
                "bootstrap",
                f"the CDK bootstrap in {where} is version {facts.bootstrap_version}; this "
                f"assembly needs {required_bootstrap}: run make bootstrap ENV={settings.name}",
            )
        )
    return problems


def _concurrency_problems(settings: EnvironmentSettings, facts: AccountFacts) -> list[Problem]:
    functions = settings.functions
    wanted = sum(
        getattr(functions, name).reserved_concurrency or 0 for name in type(functions).model_fields
    )
    # What this stack reserves today is given back when the deploy changes it.
    available = facts.unreserved_concurrency + facts.reserved_by_stack - MIN_UNRESERVED_CONCURRENCY
    if wanted <= available:
        return []
    return [
        Problem(
            "concurrency",
            f"{settings.name} reserves {wanted} concurrent executions but the account "
            f"(limit {facts.concurrency_limit}, {facts.unreserved_concurrency} unreserved) can "
            f"give it {max(0, available)} while keeping {MIN_UNRESERVED_CONCURRENCY} unreserved: "
            "lower functions.*.reserved_concurrency or raise the Lambda concurrent executions "
            "quota (Service Quotas)",
        )
    ]


def _secret_problems(settings: EnvironmentSettings, facts: AccountFacts) -> list[Problem]:
    problems: list[Problem] = []
    names = settings.secret_names.model_dump()
    for key, name in names.items():
        state = facts.secrets.get(key)
        if facts.stack_status is None and state is not None:
            problems.append(
                Problem(
                    "secrets",
                    f"secret {name} exists but stack {settings.stack_name} does not: creating "
                    "the stack would fail (the name is taken); keep its value, then `aws "
                    f"secretsmanager delete-secret --secret-id {name} "
                    "--force-delete-without-recovery` and set it again after the deploy",
                )
            )
        elif key in PARTNER_SECRETS and state is not None and state.versions <= 1:
            problems.append(
                Problem(
                    "secrets",
                    f"secret {name} still holds its generated initial value: put "
                    f"{PARTNER_SECRETS[key]} (`aws secretsmanager put-secret-value --secret-id "
                    f"{name} --secret-string ...`)",
                )
            )
    return problems


def required_bootstrap_version(assembly: Path | None, stack_name: str) -> int:
    """The bootstrap version the synthesized stack (and its lookup role) needs."""
    manifest = assembly / "manifest.json" if assembly else None
    if manifest is None or not manifest.exists():
        return DEFAULT_BOOTSTRAP_VERSION
    properties = json.loads(manifest.read_text())["artifacts"][stack_name]["properties"]
    lookup = properties.get("lookupRole") or {}
    return max(
        int(properties.get("requiresBootstrapStackVersion", 0)),
        int(lookup.get("requiresBootstrapStackVersion", 0)),
    )


class AccountReader(Protocol):
    def facts(self, settings: EnvironmentSettings) -> AccountFacts: ...


def preflight(
    settings: EnvironmentSettings, reader: AccountReader, assembly: Path | None
) -> tuple[list[Problem], list[str]]:
    """Every problem, the config's first (they need no account), and notes for the reader."""
    problems = config_problems(settings)
    try:
        facts = reader.facts(settings)
    except (BotoCoreError, ClientError) as exc:
        where = f"{settings.account or '?'}/{settings.region or '?'}"
        return [
            *problems,
            Problem(
                "account",
                f"cannot read the target account {where} ({exc}): run with credentials for it",
            ),
        ], []
    required = required_bootstrap_version(assembly, settings.stack_name)
    return problems + account_problems(settings, facts, required), facts.notes


def render(settings: EnvironmentSettings, problems: list[Problem], notes: list[str]) -> str:
    lines = [f"note: {note}" for note in notes]
    lines += [f"refused [{p.check}]: {p.message}" for p in problems]
    verdict = (
        f"preflight {settings.name}: {len(problems)} problem(s); nothing was deployed"
        if problems
        else f"preflight {settings.name}: ready to deploy {settings.stack_name}"
    )
    return "\n".join([*lines, verdict])


def as_json(problems: list[Problem], notes: list[str]) -> dict[str, Any]:
    return {
        "ok": not problems,
        "problems": [{"check": p.check, "message": p.message} for p in problems],
        "notes": notes,
    }
