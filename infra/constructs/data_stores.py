"""Durable state: the events, idempotency, ERP entities, enrichment status and products tables,
and the raw payload bucket."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.nag import acknowledge

NONCURRENT_VERSION_DAYS = 30
STATUS_INDEX = "by-status"
PIPELINE_INDEX = "by-pipeline"
USER_INDEX = "by-user"
ACCESS_LOG_DAYS = 90


class DataStores(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, env: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        self._env = env
        removal = RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY
        self.events_table = self._table("EventsTable", "event_id", "expires_at", removal)
        # Operators list events newest first by status or by pipeline: queries, never scans.
        for index, partition in ((STATUS_INDEX, "status"), (PIPELINE_INDEX, "pipeline")):
            self.events_table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(
                    name=partition, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(name="received_at", type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
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
        self.enrichment_table.add_global_secondary_index(
            index_name=USER_INDEX,
            partition_key=dynamodb.Attribute(name="user_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="created_at", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.products_table = self._table(
            "ProductsTable", "catalog_id", None, removal, sort_key="product_id"
        )
        self.access_logs_bucket = self._access_logs_bucket(removal)
        self.payload_bucket = s3.Bucket(
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
            auto_delete_objects=not env.retain_data,
        )

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
            partition_key=dynamodb.Attribute(
                name=partition_key, type=dynamodb.AttributeType.STRING
            ),
            sort_key=(
                dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
                if sort_key
                else None
            ),
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
