"""The preflight's rules on given facts: placeholder hosts, stack states, alarm subscribers."""

from __future__ import annotations

import pytest

from infra.config import load_settings
from ops_cli.config_checks import is_placeholder_host
from ops_cli.preflight import AccountFacts, account_problems
from tests.support.settings import complete_prod


@pytest.mark.parametrize(
    "host",
    ["example.com", "api.example.com", "x.example.org", "orders.example.net", "localhost",
     "svc.localhost", "api.test", "orders.invalid", "127.0.0.1", "API.EXAMPLE.COM."],
)  # fmt: skip
def test_placeholder_hosts_are_recognised(host: str) -> None:
    assert is_placeholder_host(host)


@pytest.mark.parametrize(
    "host", ["api.qualia.com", "example-corp.com", "notexample.com", "testing.io", "invalid.io"]
)
def test_real_hosts_are_not_placeholders(host: str) -> None:
    assert not is_placeholder_host(host)


def facts(**changes: object) -> AccountFacts:
    base = {
        "caller_account": "123456789012",
        "region": "eu-west-1",
        "bootstrap_version": 30,
        "concurrency_limit": 1000,
        "unreserved_concurrency": 1000,
        "stack_status": "UPDATE_COMPLETE",
        "reserved_by_stack": 0,
        "secrets": {},
        "alarm_subscribers": (1, 0),
    }
    return AccountFacts(**{**base, **changes})  # type: ignore[arg-type]


SETTINGS = load_settings({"prod": complete_prod()}, "prod")


def test_a_stack_whose_first_create_rolled_back_must_be_deleted_first() -> None:
    [problem] = account_problems(SETTINGS, facts(stack_status="ROLLBACK_COMPLETE"), 8)
    assert problem.message.startswith(
        "WebhookPipeline-prod is ROLLBACK_COMPLETE (its first create failed) and cannot be updated"
    )
    assert "aws cloudformation delete-stack --stack-name WebhookPipeline-prod" in problem.message


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "CREATE_IN_PROGRESS"])
def test_a_deploy_in_progress_is_waited_for(status: str) -> None:
    [problem] = account_problems(SETTINGS, facts(stack_status=status), 8)
    assert (
        problem.message
        == f"WebhookPipeline-prod is {status}: another deploy is running; wait for it"
    )


def test_what_the_stack_reserves_today_counts_as_available() -> None:
    # 150 unreserved now, but the stack itself holds 130 of the account's reservations
    ok = facts(concurrency_limit=400, unreserved_concurrency=150, reserved_by_stack=130)
    assert account_problems(SETTINGS, ok, 8) == []
    short = facts(concurrency_limit=400, unreserved_concurrency=150, reserved_by_stack=0)
    assert [p.check for p in account_problems(SETTINGS, short, 8)] == ["concurrency"]


def test_pending_alarm_subscriptions_are_not_subscribers() -> None:
    [problem] = account_problems(SETTINGS, facts(alarm_subscribers=(0, 1)), 8)
    assert problem.message.startswith("the alarm topic has no confirmed subscriber (1 pending)")
