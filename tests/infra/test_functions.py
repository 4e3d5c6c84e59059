"""Every function: the platform's defaults, its log group and its environment."""

from __future__ import annotations

import json

import pytest

from infra import bytecode
from infra.constructs.lambda_runtime import (
    CODE_PATH,
    LAYER_PATH,
    LOCK_FILE,
    PYTHON_VERSION,
    layer_asset_hash,
)
from tests.infra.stack_parts import FUNCTIONS, QUEUES
from tests.infra.synthesis import Synth, settings

LOG_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "ERROR": "ERROR"}


def test_every_resource_is_tagged_with_env_and_service(synth: Synth) -> None:
    # Stack tags reach every taggable resource at deploy time, CDK-internal ones included.
    assert synth.stack_tags == {"environment": synth.env, "service": "webhook-pipeline"}
    taggable = (
        "AWS::Lambda::Function",
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
    )
    for resource_type in taggable:
        for logical_id, resource in synth.resources(resource_type).items():
            if synth.path_of(logical_id).startswith("Custom::"):
                continue  # CDK's provider: a raw CfnResource, tagged by the stack tags
            tags = {t["Key"]: t["Value"] for t in resource["Properties"].get("Tags", [])}
            assert tags.get("environment") == synth.env, logical_id
            assert tags.get("service") == "webhook-pipeline", logical_id


def test_functions_share_the_platform_defaults(synth: Synth) -> None:
    config = settings(synth.env)
    for path, key in FUNCTIONS.items():
        function = synth.one("AWS::Lambda::Function", f"{path}/Function")["Properties"]
        expected = getattr(config.functions, key)
        assert function["Runtime"] == "python3.14"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["LoggingConfig"]["LogFormat"] == "JSON"
        assert function["LoggingConfig"]["ApplicationLogLevel"] == LOG_LEVELS[config.log_level]
        assert synth.render(function["LoggingConfig"]["LogGroup"]) == f"{path}/Logs"
        assert function["MemorySize"] == expected.memory_mb
        assert function["Timeout"] == expected.timeout_seconds
        assert function.get("ReservedConcurrentExecutions") == expected.reserved_concurrency
        assert [synth.render(layer) for layer in function["Layers"]] == [
            "LambdaRuntime/Dependencies"
        ]
        assert function["Handler"] == f"{key}.handler.handler"


def test_function_log_groups_keep_the_envs_retention(synth: Synth) -> None:
    config = settings(synth.env)
    for path in FUNCTIONS:
        group = synth.one("AWS::Logs::LogGroup", f"{path}/Logs")
        assert group["Properties"]["RetentionInDays"] == config.log_retention_days
        assert group["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")


EXPECTED_ENV = {
    "Ingest": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "DOWNLOAD_QUEUE_URL",
        "WEBHOOK_SECRET_NAME", "MAX_BODY_BYTES", "EVENT_TIME_WINDOW",
    },
    "DownloadWorker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "PAYLOAD_BUCKET_NAME", "PROCESSING_QUEUE_URL",
        "DOWNLOAD_DLQ_URL", "RETRY_SCHEDULE", "MARKETPLACE_API_BASE_URL",
        "MARKETPLACE_TOKEN_SECRET_NAME", "HTTP_CLIENT", "CIRCUIT_BREAKER",
    },
    "ProcessingWorker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "PAYLOAD_BUCKET_NAME", "PROCESSING_DLQ_URL",
        "RETRY_SCHEDULE", "INTERNAL_API_BASE_URL", "HTTP_CLIENT", "CIRCUIT_BREAKER",
    },
    "OpsApi": {"EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "PAYLOAD_BUCKET_NAME", "QUEUES"},
    "Erp/Ingest": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "IDEMPOTENCY_TABLE_NAME", "LANE_QUEUE_URLS",
        "WEBHOOK_KEYS_SECRET_NAME", "MAX_BODY_BYTES", "DEDUPE_WINDOW_SECONDS", "EVENT_TIME_WINDOW",
        "PAYLOAD_BUCKET_NAME",
    },
    "Erp/SyncWorker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "ENTITIES_TABLE_NAME", "ERP_LANES",
        "RETRY_SCHEDULE",
    },
    "StuckEvents/Sweeper": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "QUEUES", "STUCK_AFTER_MINUTES",
    },
    # Catalog enrichment keeps no events: its functions are not told of the events table.
    "Catalog/Api": {
        "ENRICHMENT_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ENRICHMENT_QUEUE_URL",
        "DEFAULT_BATCH_SIZE", "MAX_PRODUCTS", "MAX_BODY_BYTES",
    },
    "Catalog/Worker": {
        "ENRICHMENT_TABLE_NAME", "PRODUCTS_TABLE_NAME", "ENRICHMENT_DLQ_URL", "RETRY_SCHEDULE",
        "PROVIDER_API_BASE_URL", "PROVIDER_KEY_SECRET_NAME", "HTTP_CLIENT", "CIRCUIT_BREAKER",
    },
    # The circuit breakers' probe: their table, each peer's probe request and stage.
    "CircuitBreaker/Probe": {"BREAKER_TABLE_NAME", "BREAKER_TARGETS", "PROBE_TIMEOUT_SECONDS"},
}  # fmt: skip


def test_env_vars_hold_only_resource_names_and_settings_never_secrets(synth: Synth) -> None:
    config = settings(synth.env)
    secret_names = set(config.secret_names.model_dump().values())
    for path, expected in EXPECTED_ENV.items():
        variables = synth.one("AWS::Lambda::Function", f"{path}/Function")["Properties"][
            "Environment"
        ]["Variables"]
        powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"}
        assert set(variables) == expected | powertools, path
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == f"WebhookPipeline/{synth.env}"
        assert variables["POWERTOOLS_SERVICE_NAME"] == path.replace("/", "")
        for name, value in variables.items():
            if name.endswith("_SECRET_NAME"):
                assert value in secret_names  # a name to look up, not the value
            assert "SecretString" not in json.dumps(value)
            assert "whsec_" not in json.dumps(value)


def test_the_settings_the_functions_read_are_the_configured_values(synth: Synth) -> None:
    config = settings(synth.env)
    for path, variables in ((p, synth.environment_of(p)) for p in EXPECTED_ENV):
        if "EVENT_TTL_DAYS" in variables:
            assert variables["EVENT_TTL_DAYS"] == str(config.event_ttl_days), path
        if "MAX_BODY_BYTES" in variables:
            assert variables["MAX_BODY_BYTES"] == str(config.api.max_request_body_bytes), path
        if "HTTP_CLIENT" in variables:
            assert json.loads(variables["HTTP_CLIENT"]) == config.http.model_dump(), path
        if "EVENT_TIME_WINDOW" in variables:
            window = json.loads(variables["EVENT_TIME_WINDOW"])
            assert window == config.event_time_window.model_dump(), path
    catalog_api = synth.environment_of("Catalog/Api")
    assert catalog_api["MAX_PRODUCTS"] == str(config.enrichment.max_products)
    assert catalog_api["DEFAULT_BATCH_SIZE"] == str(config.enrichment.default_batch_size)
    erp_ingest = synth.environment_of("Erp/Ingest")
    assert erp_ingest["DEDUPE_WINDOW_SECONDS"] == str(config.erp.dedupe_window_seconds)


@pytest.mark.parametrize("function", ["OpsApi", "StuckEvents/Sweeper"])
def test_operators_and_the_sweeper_know_every_stage_queue_pair(synth: Synth, function: str) -> None:
    variables = synth.one("AWS::Lambda::Function", f"{function}/Function")["Properties"][
        "Environment"
    ]["Variables"]
    rendered = synth.render(variables["QUEUES"])
    for construct, (stage, _, _) in QUEUES.items():
        assert f'"{stage}":' in rendered
        for part in (f"{construct}/Queue", f"{construct}/Dlq"):
            assert part in rendered


def test_the_enrichment_worker_is_sized_and_throttled_from_config(synth: Synth) -> None:
    config = settings(synth.env)
    worker = synth.one("AWS::Lambda::Function", "Catalog/Worker/Function")["Properties"]
    assert worker["MemorySize"] == config.functions.enrichment_worker.memory_mb
    assert worker.get("ReservedConcurrentExecutions") == (
        config.functions.enrichment_worker.reserved_concurrency
    )
    queue = synth.one("AWS::SQS::Queue", "Catalog/Queue/Queue")["Properties"]
    # In flight for at most the timeout: never redelivered while a worker still holds it.
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]


def test_the_sweeper_runs_on_the_configured_schedule(synth: Synth) -> None:
    config = settings(synth.env).stuck_events
    [rule] = [
        r
        for i, r in synth.resources("AWS::Events::Rule").items()
        if synth.path_of(i) == "StuckEvents/Schedule"
    ]
    properties = rule["Properties"]
    minutes = config.sweep_every_minutes
    assert properties["ScheduleExpression"] == f"rate({minutes} minute{'s' if minutes > 1 else ''})"
    assert properties["State"] == "ENABLED"
    [target] = properties["Targets"]
    assert synth.render(target["Arn"]) == "StuckEvents/Sweeper/Function.Arn"
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": 0,
        "MaximumEventAgeInSeconds": 60 * minutes,
    }
    variables = synth.one("AWS::Lambda::Function", "StuckEvents/Sweeper/Function")["Properties"][
        "Environment"
    ]["Variables"]
    assert variables["STUCK_AFTER_MINUTES"] == str(config.stuck_after_minutes)


def test_the_layers_asset_hash_covers_how_its_bytecode_is_compiled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the layer's hash as built today
    before = layer_asset_hash(LOCK_FILE)
    assert layer_asset_hash(LOCK_FILE) == before
    # When the compile options change (e.g. optimised pycs), Then the layer is a new asset
    monkeypatch.setattr(bytecode, "COMPILE_OPTIONS", (*bytecode.COMPILE_OPTIONS, "optimize=2"))
    assert layer_asset_hash(LOCK_FILE) != before


def test_the_assets_are_compiled_for_their_deployed_paths() -> None:
    # Tracebacks name where the code is on Lambda, and the compiler is Lambda's Python's
    assert (LAYER_PATH, CODE_PATH) == ("/opt/python", "/var/task")
    assert (bytecode.TARGET_PYTHON, bytecode.MAGIC) == (PYTHON_VERSION, 3627)
