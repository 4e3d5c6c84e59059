"""Durable state: the events, idempotency, ERP entities, enrichment status and products tables,
and the raw payload bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.nag import acknowledge
from shared.indexes import ENRICHMENTS_BY_USER, EVENTS_BY_PIPELINE, EVENTS_BY_STATUS, Index

# What each index copies of an item beyond the keys; every write of an item pays for each index it
# is in (a key change: delete + put there), and any write that changes a projected attribute
# writes the index again. So each index carries only what its queries read (shared.event_queries):
# - by-status: the sweeper's filter (`updated_at`, `next_retry_at`), the status + pipeline
#   listing's filter and the ops counts (`pipeline`, `entity_type`, `priority`); listings then
#   read whole events by key.
# - by-pipeline: keys only (the pipeline listing reads whole events by key).
# - by-user (enrichments): ALL, unchanged; a summary is written a few times per enrichment.
# `None`: ALL. Not the intake's hold (`intake_claim`, `intake_held_until`): dropping it after the
# enqueue then costs the table's write only.
INDEX_PROJECTIONS: dict[str, tuple[str, ...] | None] = {
    EVENTS_BY_STATUS.name: ("pipeline", "updated_at", "next_retry_at", "entity_type", "priority"),
    EVENTS_BY_PIPELINE.name: (),
    ENRICHMENTS_BY_USER.name: None,
}
NONCURRENT_VERSION_DAYS = 30
ACCESS_LOG_DAYS = 90


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


class DataStores(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        self._env = env
        removal = RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY
        self.events_table = self._table("EventsTable", "event_id", "expires_at", removal)
        # Operators list events newest first by status or by pipeline: queries, never scans.
        self._add_index(self.events_table, EVENTS_BY_STATUS)
        self._add_index(self.events_table, EVENTS_BY_PIPELINE)
        # Powertools Idempotency's own schema: partition key `id`, TTL attribute `expiration`.
        self.idempotency_table = self._table("IdempotencyTable", "id", "expiration", removal)
        # The ERP's entities as last synced; tombstones keep deletes ordered, so nothing expires.
        self.entities_table = self._table(
            "EntitiesTable", "entity_type", None, removal, sort_key="entity_id"
        )
        # Catalog enrichment: batch items and one summary per enrichment; only summaries carry
        # `created_at`, so the sparse by-user index lists a user's enrichments, newest first.
        self.enrichment_table = self._table(
            "EnrichmentTable", "catalog_id", None, removal, sort_key="batch_id"
        )
        self._add_index(self.enrichment_table, ENRICHMENTS_BY_USER)
        self.products_table = self._table(
            "ProductsTable", "catalog_id", None, removal, sort_key="product_id"
        )
        self.access_logs_bucket = self._access_logs_bucket(removal)
        self.payload_bucket = self._payload_bucket(removal)

    @property
    def tables(self) -> list[dynamodb.Table]:
        """Every table, in the order monitoring shows them."""
        return [
            self.events_table,
            self.idempotency_table,
            self.entities_table,
            self.enrichment_table,
            self.products_table,
        ]

    @property
    def events_environment(self) -> dict[str, str]:
        """What every function that records events finds in its environment."""
        return {
            "EVENTS_TABLE_NAME": self.events_table.table_name,
            "EVENT_TTL_DAYS": str(self._env.event_ttl_days),
        }

    def _table(
        self,
        construct_id: str,
        partition_key: str,
        ttl_attribute: str | None,
        removal: RemovalPolicy,
        *,
        sort_key: str | None = None,
    ) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            construct_id,
            partition_key=_string(partition_key),
            sort_key=_string(sort_key) if sort_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=ttl_attribute,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=self._env.point_in_time_recovery
            ),
            deletion_protection=self._env.deletion_protection,
            removal_policy=removal,
        )
        if not self._env.point_in_time_recovery:
            acknowledge(
                table,
                "AwsSolutions-DDB3",
                f"{self._env.name} holds disposable test data; PITR is on in staging and prod",
            )
        return table

    @staticmethod
    def _add_index(table: dynamodb.Table, index: Index) -> None:
        projected = INDEX_PROJECTIONS[index.name]
        if projected is None:
            projection, attributes = dynamodb.ProjectionType.ALL, None
        elif projected:
            projection, attributes = dynamodb.ProjectionType.INCLUDE, list(projected)
        else:
            projection, attributes = dynamodb.ProjectionType.KEYS_ONLY, None
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_string(index.partition_key),
            sort_key=_string(index.sort_key),
            projection_type=projection,
            non_key_attributes=attributes,
        )

    def _payload_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        return s3.Bucket(
            self,
            "PayloadBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="payload-bucket/",
            removal_policy=removal,
            auto_delete_objects=not self._env.retain_data,
        )

    def _access_logs_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(ACCESS_LOG_DAYS))
            ],
            removal_policy=removal,
            auto_delete_objects=not self._env.retain_data,
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "This bucket is the server access log destination; logging it into itself loops",
        )
        return bucket
