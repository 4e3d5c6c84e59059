"""The Webhook Pipeline stack for one environment: composes constructs, tags, outputs.

The shared platform (code, data stores, secrets, the API), the three pipelines, the sweeper
and the ops API, then monitoring; each part hands over what it owns (functions, queue pairs,
business-metric watches) and the stack passes them on explicitly.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.catalog_pipeline import CatalogPipeline
from infra.constructs.circuit_breaker import CircuitBreakers, GuardedStage
from infra.constructs.data_stores import DataStores
from infra.constructs.erp_pipeline import ErpPipeline
from infra.constructs.lambda_runtime import LambdaRuntime
from infra.constructs.monitored import queues_of
from infra.constructs.monitoring import PipelineMonitoring
from infra.constructs.ops_api import OpsApi
from infra.constructs.orders_pipeline import OrdersPipeline
from infra.constructs.platform import Platform
from infra.constructs.rest_api import RestApi
from infra.constructs.secrets import PipelineSecrets
from infra.constructs.stuck_event_sweeper import StuckEventSweeper
from shared.breaker.settings import Peer


class WebhookPipelineStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        for key, value in settings.tags.items():
            Tags.of(self).add(key, value)
        runtime = LambdaRuntime(self, "LambdaRuntime")
        stores = DataStores(self, "DataStores", env=settings)
        secrets = PipelineSecrets(self, "Secrets", env=settings)
        api = RestApi(self, "Api", env=settings)
        platform = Platform(env=settings, runtime=runtime, stores=stores, secrets=secrets, api=api)
        # In this order: API Gateway's deployment is named after the routes in the order they
        # are added, and the orders route has always followed the ERP's and the catalog's
        # (another order would replace the deployment). Nothing else depends on the order:
        # each part hands over what it owns, and the stack passes it on below.
        erp = ErpPipeline(self, "Erp", platform=platform)
        catalog = CatalogPipeline(self, "Catalog", platform=platform)
        orders = OrdersPipeline(self, "Orders", platform=platform)
        breakers = self._breakers(platform, orders, catalog)
        queues = queues_of([orders, erp, catalog])
        sweeper = StuckEventSweeper(self, "StuckEvents", platform=platform, queues=queues)
        ops_api = OpsApi(self, "Ops", platform=platform, queues=queues)
        self.monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            env=settings,
            api=api,
            parts=[orders, erp, catalog, sweeper, ops_api, breakers],
            tables=[*stores.tables, breakers.table],
            breakers=breakers,
        )
        self._outputs(platform, orders, breakers)

    def _breakers(
        self, platform: Platform, orders: OrdersPipeline, catalog: CatalogPipeline
    ) -> CircuitBreakers:
        """One breaker per downstream peer, on the stage that calls it (by the stage's name, as
        `orders.stages` and `catalog.stages` define it: tests/infra checks they match)."""
        env = platform.env
        return CircuitBreakers(
            self,
            "CircuitBreaker",
            platform=platform,
            guarded=[
                GuardedStage(
                    Peer.MARKETPLACE_API,
                    "download",
                    orders.download_worker,
                    str(env.marketplace_api_base_url),
                ),
                GuardedStage(
                    Peer.INTERNAL_API,
                    "processing",
                    orders.processing_worker,
                    str(env.internal_api_base_url),
                ),
                GuardedStage(
                    Peer.PROVIDER,
                    "enrich",
                    catalog.enrichment_worker,
                    str(env.enrichment.provider_api_base_url),
                ),
            ],
        )

    def _outputs(
        self, platform: Platform, orders: OrdersPipeline, breakers: CircuitBreakers
    ) -> None:
        api, stores, secrets = platform.api, platform.stores, platform.secrets
        outputs = {
            "ApiUrl": api.api.url,
            "EventsTableName": stores.events_table.table_name,
            "EntitiesTableName": stores.entities_table.table_name,
            "EnrichmentTableName": stores.enrichment_table.table_name,
            "ProductsTableName": stores.products_table.table_name,
            "PayloadBucketName": stores.payload_bucket.bucket_name,
            "DownloadQueueUrl": orders.download_queue.queue.queue_url,
            "DownloadDlqUrl": orders.download_queue.dlq.queue_url,
            "ProcessingQueueUrl": orders.processing_queue.queue.queue_url,
            "ProcessingDlqUrl": orders.processing_queue.dlq.queue_url,
            "WebhookSigningSecretName": secrets.webhook_signing.secret_name,
            "MarketplaceApiTokenSecretName": secrets.marketplace_api_token.secret_name,
            "ErpWebhookKeysSecretName": secrets.erp_webhook_keys.secret_name,
            "ProviderApiKeySecretName": secrets.provider_api_key.secret_name,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
            "CircuitBreakerTableName": breakers.table.table_name,
            # peer → the UUIDs of its stage's mappings (`ops breaker` pauses and resumes them).
            "CircuitBreakerMappings": self.to_json_string(breakers.mappings),
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
