"""Each function's role: exactly the actions on exactly the resources it needs."""

from __future__ import annotations

import pytest

from tests.infra.stack_parts import ERP_LANES, NO_EVENTS, QUEUES
from tests.infra.synthesis import Synth

# What an SQS event source needs on its queue.
CONSUMER_ACTIONS = (
    "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl",
    "ReceiveMessage",
)  # fmt: skip

# Record the event, which is its own idempotency record, and settle it: both webhook ingests.
INTAKE_GRANTS = {
    ("dynamodb:PutItem", "DataStores/EventsTable.Arn"),
    ("dynamodb:UpdateItem", "DataStores/EventsTable.Arn"),
}
# A worker guarded by a circuit breaker (its queue, and its function's path): counting its
# peer's failures, pausing its own event source mapping, parking records back on its queue.
GUARDED = {
    "DownloadWorker": "DownloadQueue",
    "ProcessingWorker": "ProcessingQueue",
    "Catalog/Worker": "Catalog/Queue",
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
        ("dynamodb:BatchGetItem", "DataStores/EventsTable.Arn"),
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
        ("dynamodb:GetItem", "DataStores/IdempotencyTable.Arn"),  # latest deliveries
        ("dynamodb:PutItem", "DataStores/IdempotencyTable.Arn"),
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
        ("dynamodb:BatchGetItem", "DataStores/EventsTable.Arn"),
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
    assert synth.grants_of(path) == EXPECTED_GRANTS[path] | baseline | breaker_grants(synth, path)


def breaker_grants(synth: Synth, path: str) -> set[tuple[str, str]]:
    """What a guarded worker's circuit breaker needs; nothing for any other function."""
    if path not in GUARDED:
        return set()
    queue = GUARDED[path]
    [mapping] = [
        synth.path_of(logical_id)
        for logical_id, mapping in synth.resources("AWS::Lambda::EventSourceMapping").items()
        if synth.render(mapping["Properties"]["FunctionName"]) == f"{path}/Function"
    ]
    mapping_arn = (
        "arn:AWS::Partition:lambda:AWS::Region:AWS::AccountId:event-source-mapping:" + mapping
    )
    return {
        ("dynamodb:UpdateItem", "CircuitBreaker/Table.Arn"),
        ("lambda:ListEventSourceMappings", "*"),
        ("lambda:GetEventSourceMapping", mapping_arn),
        ("lambda:UpdateEventSourceMapping", mapping_arn),
        ("sqs:SendMessage", f"{queue}/Queue.Arn"),
    }


@pytest.mark.parametrize("path", NO_EVENTS)
def test_catalog_functions_may_not_touch_the_events_table(synth: Synth, path: str) -> None:
    touched = {resource for _, resource in synth.grants_of(path)}
    assert not any(resource.startswith("DataStores/EventsTable") for resource in touched)
    assert not {"EVENTS_TABLE_NAME", "EVENT_TTL_DAYS"} & set(synth.environment_of(path))
