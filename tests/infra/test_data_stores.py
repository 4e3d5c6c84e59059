"""The tables, the payload bucket and the secrets."""

from __future__ import annotations

import pytest

from tests.infra.synthesis import Synth, assert_tls_only, settings


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


def test_the_events_indexes_project_only_what_their_queries_read(synth: Synth) -> None:
    # Given the events table's indexes
    from shared.event_recorder import CLAIM, HELD_UNTIL
    from shared.indexes import EVENTS_BY_PIPELINE, EVENTS_BY_STATUS

    table = synth.one("AWS::DynamoDB::Table", "DataStores/EventsTable")["Properties"]
    projections = {i["IndexName"]: i["Projection"] for i in table["GlobalSecondaryIndexes"]}

    # Then the pipeline listing keeps keys only, and the status index what its filters read
    assert projections[EVENTS_BY_PIPELINE.name] == {"ProjectionType": "KEYS_ONLY"}
    by_status = projections[EVENTS_BY_STATUS.name]
    assert by_status["ProjectionType"] == "INCLUDE"
    assert set(by_status["NonKeyAttributes"]) == {
        "pipeline",
        "updated_at",
        "next_retry_at",
        "entity_type",
        "priority",
    }
    # And the intake's hold on a new event is in no index: dropping it writes the table only
    assert not {CLAIM, HELD_UNTIL} & set(by_status["NonKeyAttributes"])


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
    assert_tls_only(synth, "AWS::S3::BucketPolicy", "Bucket", "DataStores/PayloadBucket")


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
