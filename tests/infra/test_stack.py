"""The synthesized template of every environment, property by property."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config import EnvironmentSettings, load_settings
from tests.infra.conftest import Synth, cdk_context

FUNCTIONS = {
    "Ingest": "ingest",
    "DownloadWorker": "download_worker",
    "ProcessingWorker": "processing_worker",
    "OpsApi": "ops_api",
    "Erp/Ingest": "erp_ingest",
    "Erp/SyncWorker": "erp_sync_worker",
    "StuckEvents/Sweeper": "stuck_sweeper",
    "Catalog/Api": "catalog_api",
    "Catalog/Worker": "enrichment_worker",
}
# Each queue pair: its path, the stage operators name it by, its consumer's config keys.
QUEUES = {
    "DownloadQueue": ("download", "download", "download_worker"),
    "ProcessingQueue": ("processing", "processing", "processing_worker"),
    "Erp/HighLane": ("erp-high", "erp_high", "erp_sync_worker"),
    "Erp/StandardLane": ("erp-standard", "erp_standard", "erp_sync_worker"),
    "Erp/LowLane": ("erp-low", "erp_low", "erp_sync_worker"),
    "Catalog/Queue": ("enrichment", "enrichment", "enrichment_worker"),
}
ERP_LANES = ("High", "Standard", "Low")
FUNCTION_PATHS = {key: path for path, key in FUNCTIONS.items()}
LOG_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO", "WARN": "WARN", "ERROR": "ERROR"}


def settings(env: str) -> EnvironmentSettings:
    return load_settings(cdk_context()["webhook-pipeline:environments"], env)


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
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "IDEMPOTENCY_TABLE_NAME", "DOWNLOAD_QUEUE_URL",
        "WEBHOOK_SECRET_NAME", "MAX_BODY_BYTES", "EVENT_TIME_WINDOW",
    },
    "DownloadWorker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "PAYLOAD_BUCKET_NAME", "PROCESSING_QUEUE_URL",
        "DOWNLOAD_DLQ_URL", "RETRY_SCHEDULE", "MARKETPLACE_API_BASE_URL",
        "MARKETPLACE_TOKEN_SECRET_NAME", "HTTP_CLIENT",
    },
    "ProcessingWorker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "PAYLOAD_BUCKET_NAME", "PROCESSING_DLQ_URL",
        "RETRY_SCHEDULE", "INTERNAL_API_BASE_URL", "HTTP_CLIENT",
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
    "Catalog/Api": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "ENRICHMENT_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME",
        "ENRICHMENT_QUEUE_URL", "DEFAULT_BATCH_SIZE", "MAX_PRODUCTS", "MAX_BODY_BYTES",
    },
    "Catalog/Worker": {
        "EVENTS_TABLE_NAME", "EVENT_TTL_DAYS", "ENRICHMENT_TABLE_NAME", "PRODUCTS_TABLE_NAME",
        "ENRICHMENT_DLQ_URL", "RETRY_SCHEDULE", "PROVIDER_API_BASE_URL",
        "PROVIDER_KEY_SECRET_NAME", "HTTP_CLIENT",
    },
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


# What an SQS event source needs on its queue.
CONSUMER_ACTIONS = (
    "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl",
    "ReceiveMessage",
)  # fmt: skip
# Record the event, de-duplicate it (Powertools Idempotency): both webhook ingests.
INTAKE_GRANTS = {
    ("dynamodb:GetItem", "DataStores/EventsTable.Arn"),
    ("dynamodb:PutItem", "DataStores/EventsTable.Arn"),
    ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
    ("dynamodb:DeleteItem", "DataStores/IdempotencyTable.Arn"),
    ("dynamodb:GetItem", "DataStores/IdempotencyTable.Arn"),
    ("dynamodb:PutItem", "DataStores/IdempotencyTable.Arn"),
    ("dynamodb:UpdateItem", "DataStores/IdempotencyTable.Arn"),
}
EXPECTED_GRANTS = {
    "Ingest": {
        *INTAKE_GRANTS,
        ("secretsmanager:GetSecretValue", "Secrets/WebhookSigningSecret"),
        ("sqs:SendMessage", "DownloadQueue/Queue.Arn"),
    },
    "DownloadWorker": {
        ("dynamodb:GetItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
        ("s3:PutObject", "DataStores/PayloadBucket.Arn/qualia/orders/*"),
        ("secretsmanager:GetSecretValue", "Secrets/MarketplaceApiToken"),
        ("sqs:ChangeMessageVisibility", "DownloadQueue/Queue.Arn"),
        ("sqs:DeleteMessage", "DownloadQueue/Queue.Arn"),
        ("sqs:GetQueueAttributes", "DownloadQueue/Queue.Arn"),
        ("sqs:GetQueueUrl", "DownloadQueue/Queue.Arn"),
        ("sqs:ReceiveMessage", "DownloadQueue/Queue.Arn"),
        ("sqs:SendMessage", "DownloadQueue/Dlq.Arn"),
        ("sqs:SendMessage", "ProcessingQueue/Queue.Arn"),
    },
    "ProcessingWorker": {
        ("dynamodb:GetItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
        ("s3:GetObject", "DataStores/PayloadBucket.Arn/qualia/orders/*"),
        ("s3:GetObjectVersion", "DataStores/PayloadBucket.Arn/qualia/orders/*"),
        ("sqs:ChangeMessageVisibility", "ProcessingQueue/Queue.Arn"),
        ("sqs:DeleteMessage", "ProcessingQueue/Queue.Arn"),
        ("sqs:GetQueueAttributes", "ProcessingQueue/Queue.Arn"),
        ("sqs:GetQueueUrl", "ProcessingQueue/Queue.Arn"),
        ("sqs:ReceiveMessage", "ProcessingQueue/Queue.Arn"),
        ("sqs:SendMessage", "ProcessingQueue/Dlq.Arn"),
    },
    "OpsApi": {
        ("dynamodb:GetItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:Query", "DataStores/EventsTable.Arn/index/by-status"),
        ("dynamodb:Query", "DataStores/EventsTable.Arn/index/by-pipeline"),
        ("s3:ListBucket", "DataStores/PayloadBucket.Arn"),
        *(
            (f"sqs:{action}", f"{queue}/Queue.Arn")
            for queue in QUEUES
            for action in ("GetQueueAttributes", "SendMessage")
        ),
        *(
            (f"sqs:{action}", f"{queue}/Dlq.Arn")
            for queue in QUEUES
            for action in (
                "GetQueueAttributes",
                "StartMessageMoveTask",
                "ListMessageMoveTasks",
                "CancelMessageMoveTask",
                "ReceiveMessage",
                "DeleteMessage",
            )
        ),
    },
    "Erp/Ingest": {
        *INTAKE_GRANTS,
        ("secretsmanager:GetSecretValue", "Secrets/ErpWebhookKeys"),
        ("s3:PutObject", "DataStores/PayloadBucket.Arn/zoho/data/*"),  # claim checks
        *(("sqs:SendMessage", f"Erp/{lane}Lane/Queue.Arn") for lane in ERP_LANES),
    },
    "Erp/SyncWorker": {
        ("dynamodb:GetItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:GetItem", "DataStores/EntitiesTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EntitiesTable.Arn"),
        ("s3:GetObject", "DataStores/PayloadBucket.Arn/zoho/data/*"),  # claim checks
        *(
            (f"sqs:{action}", f"Erp/{lane}Lane/Queue.Arn")
            for lane in ERP_LANES
            for action in CONSUMER_ACTIONS
        ),
        *(("sqs:SendMessage", f"Erp/{lane}Lane/Dlq.Arn") for lane in ERP_LANES),
    },
    "Catalog/Api": {
        ("dynamodb:GetItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:PutItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:BatchWriteItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:Query", "DataStores/EnrichmentTable.Arn/index/by-user"),
        ("dynamodb:DeleteItem", "DataStores/IdempotencyTable.Arn"),
        ("dynamodb:GetItem", "DataStores/IdempotencyTable.Arn"),
        ("dynamodb:PutItem", "DataStores/IdempotencyTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/IdempotencyTable.Arn"),
        ("sqs:SendMessage", "Catalog/Queue/Queue.Arn"),
    },
    "Catalog/Worker": {
        ("dynamodb:GetItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:UpdateItem", "DataStores/EnrichmentTable.Arn"),
        ("dynamodb:PutItem", "DataStores/ProductsTable.Arn"),
        ("dynamodb:BatchGetItem", "DataStores/ProductsTable.Arn"),
        ("secretsmanager:GetSecretValue", "Secrets/ProviderApiKey"),
        *((f"sqs:{action}", "Catalog/Queue/Queue.Arn") for action in CONSUMER_ACTIONS),
        ("sqs:SendMessage", "Catalog/Queue/Dlq.Arn"),
    },
    "StuckEvents/Sweeper": {
        ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
        ("dynamodb:Query", "DataStores/EventsTable.Arn/index/by-status"),
        *(("sqs:SendMessage", f"{queue}/Queue.Arn") for queue in QUEUES),
    },
}


@pytest.mark.parametrize("path", list(EXPECTED_GRANTS))
def test_each_function_role_has_exactly_its_grants(synth: Synth, path: str) -> None:
    baseline = {
        ("logs:CreateLogStream", f"{path}/Logs.Arn"),
        ("logs:PutLogEvents", f"{path}/Logs.Arn"),
        ("xray:PutTelemetryRecords", "*"),
        ("xray:PutTraceSegments", "*"),
    }
    assert synth.grants_of(path) == EXPECTED_GRANTS[path] | baseline


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


def test_the_events_table_has_the_operator_indexes(synth: Synth) -> None:
    table = synth.one("AWS::DynamoDB::Table", "DataStores/EventsTable")["Properties"]
    indexes = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by-status": [
            {"AttributeName": "status", "KeyType": "HASH"},
            {"AttributeName": "received_at", "KeyType": "RANGE"},
        ],
        "by-pipeline": [
            {"AttributeName": "pipeline", "KeyType": "HASH"},
            {"AttributeName": "received_at", "KeyType": "RANGE"},
        ],
    }


@pytest.mark.parametrize("queue", list(QUEUES))
def test_queues_have_encrypted_tls_only_dlqs_and_long_enough_visibility(
    synth: Synth, queue: str
) -> None:
    config = settings(synth.env)
    _, consumer_key, function = QUEUES[queue]
    consumer = getattr(config.queues, consumer_key)
    timeout = getattr(config.functions, function).timeout_seconds
    source = synth.one("AWS::SQS::Queue", f"{queue}/Queue")["Properties"]
    dlq = synth.one("AWS::SQS::Queue", f"{queue}/Dlq")["Properties"]
    assert source["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert source["VisibilityTimeout"] >= 6 * timeout
    assert source["RedrivePolicy"]["maxReceiveCount"] == consumer.max_receive_count
    assert source["MessageRetentionPeriod"] == 4 * 24 * 3600
    # SQS's largest message (1 MiB) on both: anything larger travels as a claim check
    assert source["MaximumMessageSize"] == dlq["MaximumMessageSize"] == 1024 * 1024
    # The worker retries on the schedule the redrive policy counts: one config entry for both
    [mapping] = [
        resource
        for resource in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if synth.render(resource["Properties"]["EventSourceArn"]) == f"{queue}/Queue.Arn"
    ]
    worker = synth.raw["Resources"][mapping["Properties"]["FunctionName"]["Ref"]]
    schedule = json.loads(worker["Properties"]["Environment"]["Variables"]["RETRY_SCHEDULE"])
    assert tuple(schedule["delays_seconds"]) == consumer.retry_delays_seconds
    assert len(schedule["delays_seconds"]) + 1 == source["RedrivePolicy"]["maxReceiveCount"]
    assert schedule["max_delay_seconds"] <= 43200 - timeout
    assert synth.render(source["RedrivePolicy"]["deadLetterTargetArn"]) == f"{queue}/Dlq.Arn"
    for part in ("Queue", "Dlq"):
        _assert_tls_only(synth, "AWS::SQS::QueuePolicy", "Queues", f"{queue}/{part}")


def _assert_tls_only(synth: Synth, policy_type: str, target_key: str, target_path: str) -> None:
    for policy in synth.resources(policy_type).values():
        targets = policy["Properties"][target_key]
        targets = targets if isinstance(targets, list) else [targets]
        if any(synth.render(t).split(".")[0] == target_path for t in targets):
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            assert any(
                s["Effect"] == "Deny"
                and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                for s in statements
            )
            return
    raise AssertionError(f"no TLS-only policy on {target_path}")


def test_workers_poll_their_queue_with_partial_batch_responses(synth: Synth) -> None:
    config = settings(synth.env)
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    by_queue = {synth.render(m["Properties"]["EventSourceArn"]): m["Properties"] for m in mappings}
    assert set(by_queue) == {f"{queue}/Queue.Arn" for queue in QUEUES}
    for queue, (_, consumer_key, function) in QUEUES.items():
        consumer = getattr(config.queues, consumer_key)
        mapping = by_queue[f"{queue}/Queue.Arn"]
        assert synth.render(mapping["FunctionName"]) == f"{FUNCTION_PATHS[function]}/Function"
        assert mapping["BatchSize"] == consumer.batch_size
        assert mapping.get("MaximumBatchingWindowInSeconds", 0) == consumer.batching_window_seconds
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        expected = {"MaximumConcurrency": consumer.max_concurrency}
        assert mapping.get("ScalingConfig") == (expected if consumer.max_concurrency else None)


def test_the_erp_lanes_poll_with_more_concurrency_the_more_urgent_they_are(synth: Synth) -> None:
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    by_queue = {synth.render(m["Properties"]["EventSourceArn"]): m["Properties"] for m in mappings}
    high, standard, low = (
        by_queue[f"Erp/{lane}Lane/Queue.Arn"]["ScalingConfig"]["MaximumConcurrency"]
        for lane in ERP_LANES
    )
    assert high > standard > low >= 2


@pytest.mark.parametrize(
    ("table", "key", "ttl"),
    [("EventsTable", "event_id", "expires_at"), ("IdempotencyTable", "id", "expiration")],
)
def test_tables_are_on_demand_encrypted_with_ttl_and_env_protection(
    synth: Synth, table: str, key: str, ttl: str
) -> None:
    config = settings(synth.env)
    resource = synth.one("AWS::DynamoDB::Table", f"DataStores/{table}")
    properties = resource["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}]
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": ttl, "Enabled": True}
    pitr = properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert pitr is config.point_in_time_recovery
    assert properties.get("DeletionProtectionEnabled", False) is config.deletion_protection
    assert resource["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")


def test_the_entities_table_is_keyed_by_type_and_id_and_never_expires(synth: Synth) -> None:
    config = settings(synth.env)
    resource = synth.one("AWS::DynamoDB::Table", "DataStores/EntitiesTable")
    properties = resource["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": "entity_type", "KeyType": "HASH"},
        {"AttributeName": "entity_id", "KeyType": "RANGE"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert "TimeToLiveSpecification" not in properties
    pitr = properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert pitr is config.point_in_time_recovery
    assert resource["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")


def test_the_enrichment_tables_have_their_keys_and_the_sparse_user_index(synth: Synth) -> None:
    status = synth.one("AWS::DynamoDB::Table", "DataStores/EnrichmentTable")["Properties"]
    assert status["KeySchema"] == [
        {"AttributeName": "catalog_id", "KeyType": "HASH"},
        {"AttributeName": "batch_id", "KeyType": "RANGE"},
    ]
    [index] = status["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-user"
    assert index["KeySchema"] == [
        {"AttributeName": "user_id", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    products = synth.one("AWS::DynamoDB::Table", "DataStores/ProductsTable")["Properties"]
    assert products["KeySchema"] == [
        {"AttributeName": "catalog_id", "KeyType": "HASH"},
        {"AttributeName": "product_id", "KeyType": "RANGE"},
    ]


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
    [rule] = synth.resources("AWS::Events::Rule").values()
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


def test_prod_retains_and_protects_dev_destroys(synths: dict[str, Synth]) -> None:
    prod = synths["prod"].one("AWS::DynamoDB::Table", "DataStores/EventsTable")
    dev = synths["dev"].one("AWS::DynamoDB::Table", "DataStores/EventsTable")
    assert prod["DeletionPolicy"] == "Retain"
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert prod["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
    assert dev["DeletionPolicy"] == "Delete"
    assert synths["dev"].resources("Custom::S3AutoDeleteObjects")
    assert not synths["prod"].resources("Custom::S3AutoDeleteObjects")


def test_the_payload_bucket_is_private_versioned_encrypted_logged_and_tls_only(
    synth: Synth,
) -> None:
    config = settings(synth.env)
    bucket = synth.one("AWS::S3::Bucket", "DataStores/PayloadBucket")
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    logging = properties["LoggingConfiguration"]
    assert synth.render(logging["DestinationBucketName"]) == "DataStores/AccessLogsBucket"
    assert bucket["DeletionPolicy"] == ("Retain" if config.retain_data else "Delete")
    _assert_tls_only(synth, "AWS::S3::BucketPolicy", "Bucket", "DataStores/PayloadBucket")


def test_secrets_carry_the_configured_names_and_outlive_everything_but_a_failed_create(
    synth: Synth,
) -> None:
    config = settings(synth.env)
    secrets = synth.resources("AWS::SecretsManager::Secret").values()
    # A failed first create removes them (its retry would meet "already exists"); an update or a
    # delete keeps them (a fixed name stays taken for the deleted secret's recovery window).
    assert {s["DeletionPolicy"] for s in secrets} == {"RetainExceptOnCreate"}
    assert {s["UpdateReplacePolicy"] for s in secrets} == {"Retain"}
    names = {s["Properties"]["Name"] for s in secrets}
    assert names == {
        config.secret_names.webhook_signing,
        config.secret_names.marketplace_api_token,
        config.secret_names.erp_webhook_keys,
        config.secret_names.provider_api_key,
    }


def test_the_api_stage_logs_traces_and_throttles(synth: Synth) -> None:
    config = settings(synth.env)
    [stage] = synth.resources("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == synth.env
    assert properties["TracingEnabled"] is True
    access_format = json.loads(properties["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "ip", "resourcePath", "xrayTraceId"} <= set(access_format)
    destination = synth.render(properties["AccessLogSetting"]["DestinationArn"])
    assert destination.endswith(":log-group:Api/AccessLogs")
    by_method = {(s["ResourcePath"], s["HttpMethod"]): s for s in properties["MethodSettings"]}
    settings_all = by_method[("/*", "*")]  # the webhook routes' own: tests/infra/test_edge.py
    assert settings_all["LoggingLevel"] == "INFO"
    assert settings_all["DataTraceEnabled"] is False
    assert settings_all["ThrottlingRateLimit"] == config.api.throttling_rate_limit
    assert settings_all["ThrottlingBurstLimit"] == config.api.throttling_burst_limit


@pytest.mark.parametrize(
    ("method", "path", "authorization", "function"),
    [
        ("POST", "Api/Api/Default/webhooks/qualia/POST", "NONE", "Ingest/Function"),
        ("POST", "Api/Api/Default/webhooks/zoho/{entity}/POST", "NONE", "Erp/Ingest/Function"),
        ("GET", "Api/Api/Default/events/{event_id}/GET", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/events/GET", "AWS_IAM", "OpsApi/Function"),
        ("POST", "Api/Api/Default/events/{event_id}/replay/POST", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/stats/GET", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/health/GET", "AWS_IAM", "OpsApi/Function"),
        ("POST", "Api/Api/Default/dlq/{queue}/redrive/POST", "AWS_IAM", "OpsApi/Function"),
        ("GET", "Api/Api/Default/dlq/{queue}/redrive/GET", "AWS_IAM", "OpsApi/Function"),
        (
            "POST",
            "Api/Api/Default/catalogs/{catalog_id}/enrichments/POST",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
        (
            "GET",
            "Api/Api/Default/catalogs/{catalog_id}/enrichments/GET",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
        (
            "GET",
            "Api/Api/Default/users/{user_id}/enrichments/GET",
            "AWS_IAM",
            "Catalog/Api/Function",
        ),
    ],
)
def test_routes_and_their_authorization(
    synth: Synth, method: str, path: str, authorization: str, function: str
) -> None:
    resource = synth.one("AWS::ApiGateway::Method", path)["Properties"]
    assert resource["HttpMethod"] == method
    assert resource["AuthorizationType"] == authorization
    assert resource["Integration"]["Type"] == "AWS_PROXY"
    uri = synth.render(resource["Integration"]["Uri"])
    assert f"{function}.Arn" in uri


def test_the_stack_is_named_after_the_env_and_exports_what_operators_need(synth: Synth) -> None:
    outputs: dict[str, Any] = synth.raw["Outputs"]
    for name in (
        "ApiUrl",
        "EventsTableName",
        "PayloadBucketName",
        "DownloadDlqUrl",
        "ProcessingDlqUrl",
        "EntitiesTableName",
        "ErpWebhookKeysSecretName",
        "EnrichmentTableName",
        "ProductsTableName",
        "ProviderApiKeySecretName",
    ):
        assert name in outputs
    synth.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": f"webhook-pipeline-{synth.env}"}
    )
    # The pipeline functions, plus CDK's auto-delete provider where buckets are disposable.
    auto_delete = 0 if settings(synth.env).retain_data else 1
    synth.template.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS) + auto_delete)


def test_errors_from_api_gateway_itself_use_the_envelope(synth: Synth) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synth.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in responses.values():
        template = response["ResponseTemplates"]["application/json"]
        rendered = (
            template.replace("$context.error.responseType", "THROTTLED")
            .replace("$context.error.messageString", '"Too Many Requests"')
            .replace("$context.requestId", "abc-123")
        )
        assert json.loads(rendered) == {
            "status": "failure",
            "data": None,
            "error": {"code": "THROTTLED", "message": "Too Many Requests", "details": None},
            "request_id": "abc-123",
        }


def test_only_prod_is_termination_protected(synth: Synth) -> None:
    assert synth.termination_protection is (synth.env == "prod")


def test_every_event_source_caps_its_pollers_at_the_functions_reservation(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == len(QUEUES)
    for mapping in mappings:
        function = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]
        maximum = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        reserved = function.get("ReservedConcurrentExecutions")
        assert maximum >= 2
        if reserved is not None:
            assert maximum <= reserved, mapping["Properties"]["EventSourceArn"]
