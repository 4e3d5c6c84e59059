"""What every pipeline construct builds on: settings, the code, the data stores, the secrets
and the API."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from infra.config import EnvironmentSettings, FunctionSettings
from infra.constructs.data_stores import DataStores
from infra.constructs.lambda_runtime import LambdaRuntime
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.rest_api import RestApi
from infra.constructs.secrets import PipelineSecrets


@dataclass(frozen=True)
class Platform:
    env: EnvironmentSettings
    runtime: LambdaRuntime
    stores: DataStores
    secrets: PipelineSecrets
    api: RestApi

    def function(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        settings: FunctionSettings,
        environment: dict[str, str],
        records_events: bool,
    ) -> PipelineFunction:
        """A function with the platform's defaults. `records_events`: it writes the events
        table (the webhook pipelines' stages, the sweeper, the ops API), so it finds the table
        and the events' time to live in its environment; catalog enrichment keeps its own
        tables and is not told of it."""
        events = self.stores.events_environment if records_events else {}
        return PipelineFunction(
            scope,
            construct_id,
            handler=handler,
            description=description,
            function=settings,
            env=self.env,
            runtime=self.runtime,
            environment={**events, **environment},
        )
