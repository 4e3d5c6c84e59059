"""What every pipeline construct builds on: settings, the code, the data stores, the secrets
and the API."""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import EnvironmentSettings
from infra.constructs.data_stores import DataStores
from infra.constructs.lambda_runtime import LambdaRuntime
from infra.constructs.rest_api import RestApi
from infra.constructs.secrets import PipelineSecrets


@dataclass(frozen=True)
class Platform:
    env: EnvironmentSettings
    runtime: LambdaRuntime
    stores: DataStores
    secrets: PipelineSecrets
    api: RestApi
