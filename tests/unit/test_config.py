"""infra/config: per-environment settings from cdk.json context."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.config import ENVIRONMENTS_CONTEXT_KEY, ConfigError, load_settings

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def environments() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"][ENVIRONMENTS_CONTEXT_KEY])


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_env_in_cdk_json_is_valid(name: str) -> None:
    settings = load_settings(environments(), name)
    assert settings.name == name
    assert settings.stack_name == f"WebhookPipeline-{name}"


def test_no_env_name_means_dev() -> None:
    assert load_settings(environments(), None).name == "dev"


def test_prod_retains_data_with_pitr_and_deletion_protection() -> None:
    prod = load_settings(environments(), "prod")
    assert (prod.retain_data, prod.point_in_time_recovery, prod.deletion_protection) == (
        True,
        True,
        True,
    )
    dev = load_settings(environments(), "dev")
    assert (dev.retain_data, dev.deletion_protection) == (False, False)


def test_an_unknown_env_fails_with_one_line_listing_the_valid_names() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environments(), "qa")
    message = str(caught.value)
    assert message == "unknown environment 'qa': valid names are dev, prod, staging"
    assert "\n" not in message


def test_a_worker_timeout_shorter_than_its_http_retry_budget_is_refused() -> None:
    # Given 3 attempts of (2 + 8)s and 2 pauses of 5s: 40s per call, in one round of 10
    envs = json.loads(json.dumps(environments()))
    envs["prod"]["functions"]["download_worker"]["timeout_seconds"] = 45
    with pytest.raises(ConfigError, match=r"download_worker.timeout_seconds \(45\) is too short"):
        load_settings(envs, "prod")
    envs["prod"]["functions"]["download_worker"]["timeout_seconds"] = 50
    assert load_settings(envs, "prod").http.worst_case_call_seconds == 40


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("log_retention_days",), 13, "log_retention_days: Value error, must be one of"),
        (("functions", "ingest", "memory_mb"), 64, "functions.ingest.memory_mb"),
        (("queues", "download", "batch_size"), 11, "queues.download.batch_size"),
        (("alarm_email",), "not-an-email", "alarm_email"),
        (("internal_api_base_url",), "not a url", "internal_api_base_url"),
        (("surprise",), 1, "surprise: Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_name_the_field(path: tuple[str, ...], value: Any, fragment: str) -> None:
    envs = json.loads(json.dumps(environments()))
    target = envs["staging"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ConfigError, match="invalid settings for environment 'staging'") as caught:
        load_settings(envs, "staging")
    assert fragment in str(caught.value)


def _with(env: str, changes: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    envs: dict[str, Any] = json.loads(json.dumps(environments()))
    for path, value in changes.items():
        target = envs[env]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return envs


@pytest.mark.parametrize(("high", "standard", "low"), [(5, 5, 2), (4, 6, 2), (6, 4, 4), (2, 3, 4)])
def test_erp_lanes_must_poll_high_above_standard_above_low(
    high: int, standard: int, low: int
) -> None:
    envs = _with(
        "dev",
        {
            ("queues", "erp_high", "max_concurrency"): high,
            ("queues", "erp_standard", "max_concurrency"): standard,
            ("queues", "erp_low", "max_concurrency"): low,
        },
    )
    with pytest.raises(ConfigError, match=r"must be high > standard > low"):
        load_settings(envs, "dev")


def test_erp_lanes_need_a_concurrency_and_one_retry_budget() -> None:
    missing = _with("dev", {("queues", "erp_low", "max_concurrency"): None})
    with pytest.raises(ConfigError, match=r"queues\.erp_low\.max_concurrency is required"):
        load_settings(missing, "dev")
    uneven = _with("dev", {("queues", "erp_low", "retry_delays_seconds"): [1, 2, 4]})
    with pytest.raises(ConfigError, match="share one retry schedule"):
        load_settings(uneven, "dev")


def test_erp_lanes_cannot_poll_past_the_workers_reserved_concurrency() -> None:
    # prod: 10 + 6 + 3 = 19 pollers
    envs = _with("prod", {("functions", "erp_sync_worker", "reserved_concurrency"): 18})
    with pytest.raises(
        ConfigError,
        match=r"poll with 19 concurrent invocations but functions.erp_sync_worker"
        r".reserved_concurrency is 18",
    ):
        load_settings(envs, "prod")
    envs = _with("prod", {("functions", "erp_sync_worker", "reserved_concurrency"): 19})
    assert load_settings(envs, "prod").functions.erp_sync_worker.reserved_concurrency == 19


def test_stuck_means_longer_than_any_visibility_timeout() -> None:
    # The longest: download/processing workers, 6 x 60s + a 2s batching window in prod.
    envs = _with("prod", {("stuck_events", "stuck_after_minutes"): 6})
    with pytest.raises(ConfigError, match=r"must exceed the longest visibility timeout \(362s\)"):
        load_settings(envs, "prod")
    envs = _with("prod", {("stuck_events", "stuck_after_minutes"): 7})
    assert load_settings(envs, "prod").stuck_events.stuck_after_minutes == 7


def test_prod_sweeps_for_stuck_events_every_five_minutes() -> None:
    assert load_settings(environments(), "prod").stuck_events.sweep_every_minutes == 5


@pytest.mark.parametrize("queue", ["download", "processing"])
def test_prod_retries_partner_calls_for_hours_and_derives_the_receive_count(queue: str) -> None:
    consumer = getattr(load_settings(environments(), "prod").queues, queue)
    assert consumer.retry_delays_seconds == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert consumer.max_receive_count == 8
    # Longest path to the DLQ: every wait at its longest, every attempt at its timeout.
    assert 27 * 3600 < consumer.retry_span_seconds(60) < 34 * 3600


def test_a_wait_past_sqs_visibility_limit_is_refused() -> None:
    # 12 h minus the 60 s timeout, the 2 s batching window and a minute of margin is the limit
    envs = _with("prod", {("queues", "download", "retry_delays_seconds"): [5, 43079]})
    with pytest.raises(
        ConfigError, match=r"queues.download.retry_delays_seconds: each wait must be at most 43078s"
    ):
        load_settings(envs, "prod")
    at_limit = _with("prod", {("queues", "download", "retry_delays_seconds"): [5, 43078]})
    assert load_settings(at_limit, "prod").queues.download.max_receive_count == 3


def test_a_schedule_that_outlasts_the_source_queues_retention_is_refused() -> None:
    # Seven waits of 12 h: the message could still be retrying when the 4-day retention ends
    envs = _with("prod", {("queues", "processing", "retry_delays_seconds"): [43000] * 7})
    with pytest.raises(ConfigError, match=r"retrying for \d+\.\d h; at most 72 h"):
        load_settings(envs, "prod")


def test_a_schedule_must_have_integer_waits_of_at_least_a_second() -> None:
    envs = _with("dev", {("queues", "download", "retry_delays_seconds"): [0]})
    with pytest.raises(
        ConfigError, match=r"retry_delays_seconds\.0: Input should be greater than or equal to 1"
    ):
        load_settings(envs, "dev")


@pytest.mark.parametrize("queue", ["download", "processing", "enrichment"])
def test_every_event_source_caps_its_pollers(queue: str) -> None:
    envs = _with("dev", {("queues", queue, "max_concurrency"): None})
    with pytest.raises(ConfigError, match=rf"queues\.{queue}\.max_concurrency is required"):
        load_settings(envs, "dev")


@pytest.mark.parametrize(
    ("queue", "worker"),
    [("download", "download_worker"), ("processing", "processing_worker"),
     ("enrichment", "enrichment_worker")],
)  # fmt: skip
def test_pollers_above_the_reserved_concurrency_are_refused(queue: str, worker: str) -> None:
    reserved = getattr(load_settings(environments(), "prod").functions, worker).reserved_concurrency
    envs = _with("prod", {("queues", queue, "max_concurrency"): reserved + 1})
    with pytest.raises(
        ConfigError,
        match=rf"queues\.{queue}\.max_concurrency \({reserved + 1}\) is above "
        rf"functions\.{worker}\.reserved_concurrency \({reserved}\)",
    ):
        load_settings(envs, "prod")
    at_limit = _with("prod", {("queues", queue, "max_concurrency"): reserved})
    assert getattr(load_settings(at_limit, "prod").queues, queue).max_concurrency == reserved


def test_only_prod_is_termination_protected_and_every_env_names_its_deploy_repository() -> None:
    protected = {n: load_settings(environments(), n).termination_protection for n in environments()}
    assert protected == {"dev": False, "staging": False, "prod": True}
    for name in environments():
        identity = load_settings(environments(), name).deploy_identity
        assert identity.github_repository == "webhook-pipeline/webhook-pipeline"


def test_a_deploy_repository_must_be_owner_slash_name() -> None:
    envs = _with("prod", {("deploy_identity", "github_repository"): "not a repo"})
    with pytest.raises(ConfigError, match=r"deploy_identity\.github_repository"):
        load_settings(envs, "prod")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda b: b["probes"].pop("provider"), "circuit_breaker.probes"),
        (
            lambda b: b["probes"].update(erp={"method": "GET", "path": "/"}),
            "circuit_breaker.probes",
        ),
        (
            lambda b: b["probes"]["internal_api"].update(method="DELETE"),
            "probes.internal_api.method",
        ),
        (lambda b: b["probes"]["internal_api"].update(path="orders"), "probes.internal_api.path"),
        (lambda b: b.update(failure_threshold=0), "circuit_breaker.failure_threshold"),
        (lambda b: b.update(park_delay_seconds=901), "circuit_breaker.park_delay_seconds"),
    ],
)
def test_a_circuit_breaker_without_a_probe_per_peer_or_out_of_range_is_refused(
    change: Any, fragment: str
) -> None:
    # Given one env's breaker settings broken one way
    envs = json.loads(json.dumps(environments()))
    change(envs["staging"]["circuit_breaker"])
    # Then synth refuses them, naming the key
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_settings(envs, "staging")
