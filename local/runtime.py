"""The whole dev stack on one machine, from its synthesized template.

`LocalRuntime` synthesizes (or reads) the template, starts moto server on a free loopback port,
provisions the template's queues, tables, buckets and secrets, starts the external API stand-ins,
a pool of processes (execution environments) per Python function, one poller per SQS event
source mapping and the REST API, then writes `.local/runtime.json` so scripts and tests can
find it.

A function's pool is as large as Lambda would scale it (`local.functions.pool_size`: the
MaximumConcurrency of its SQS event sources, its reserved concurrency), capped by
`max_concurrency` (`--max-concurrency`, 4 by default); its first process starts with the
runtime, the others on demand.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.config import load_settings
from local.api_gateway import LocalApi, routes_from
from local.event_sources import EventSourceMapping, MappingStates, QueuePoller, mappings_from
from local.function_specs import function_label, function_pool_sizes, function_spec
from local.functions import FunctionPool
from local.moto_server import MotoServer
from local.peers import (
    InternalOrdersApi,
    LambdaMappingsApi,
    MarketplaceApi,
    breaker_outputs,
    mappings_api,
)
from local.provider_api import ProductDataApi
from local.provision import Provisioned, provision
from local.runtime_state import runtime_state
from local.schedules import ScheduleRunner, schedules_from
from local.synth import environments, load_template
from local.template import StackTemplate

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".local"
OPENAPI_FILE = ROOT / "docs" / "openapi.json"
DEFAULT_MAX_CONCURRENCY = 4
REGION = "us-east-1"
log = logging.getLogger("local")


@dataclass
class RuntimeOptions:
    env: str = "dev"
    cdk_out: Path | None = None
    state_dir: Path = STATE_DIR
    retry_delay_seconds: int = 1
    schedule_every_seconds: float | None = None  # None: each rule's own rate
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY  # execution environments per function, at most


@dataclass
class _Parts:
    moto: MotoServer | None = None
    peers: list[Any] = field(default_factory=list)
    schedules: list[ScheduleRunner] = field(default_factory=list)
    functions: dict[str, FunctionPool] = field(default_factory=dict)
    pollers: list[QueuePoller] = field(default_factory=list)
    api: LocalApi | None = None


class LocalRuntime:
    def __init__(self, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.state_file = self.options.state_dir / "runtime.json"
        self.parts = _Parts()
        self._template: StackTemplate | None = None
        self._provisioned: Provisioned | None = None
        self.moto_endpoint = ""
        self.marketplace: MarketplaceApi | None = None
        self.internal_api: InternalOrdersApi | None = None
        self.provider: ProductDataApi | None = None
        self.signing_secrets: list[str] = []
        self.erp_webhook_keys: list[str] = []
        self._pids: dict[str, list[int]] = {}
        self._mappings: list[EventSourceMapping] = []
        self.mapping_states = MappingStates([])
        self.lambda_api: LambdaMappingsApi | None = None
        self.region = REGION

    @property
    def template(self) -> StackTemplate:
        if self._template is None:
            raise RuntimeError("the local runtime is not started")
        return self._template

    @property
    def provisioned(self) -> Provisioned:
        if self._provisioned is None:
            raise RuntimeError("the local runtime is not started")
        return self._provisioned

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> LocalRuntime:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        state_dir = self.options.state_dir
        (state_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._template = load_template(self.options.env, self.options.cdk_out, state_dir, REGION)
        for kind, paths in self.template.not_emulated().items():
            log.info("not emulated: %s (%d): %s", kind, len(paths), ", ".join(paths))
        self.parts.moto = MotoServer(state_dir / "logs" / "moto.log")
        self.moto_endpoint = self.parts.moto.endpoint
        self._provisioned = provision(self.template, self.client)
        settings = load_settings(environments(), self.options.env)
        secrets = self.provisioned.secret_values
        self.marketplace = MarketplaceApi(secrets[settings.secret_names.marketplace_api_token])
        self.internal_api = InternalOrdersApi()
        self.provider = ProductDataApi(secrets[settings.secret_names.provider_api_key])
        for peer in (self.marketplace, self.internal_api, self.provider):
            peer.__enter__()
            self.parts.peers.append(peer)
        signing = secrets[settings.secret_names.webhook_signing]
        self.signing_secrets = [
            s if s.startswith("whsec_") else f"whsec_{s}" for s in signing.split()
        ]
        self.erp_webhook_keys = secrets[settings.secret_names.erp_webhook_keys].split()
        overrides = {
            str(settings.marketplace_api_base_url).rstrip("/"): self.marketplace.url,
            str(settings.internal_api_base_url).rstrip("/"): self.internal_api.url,
            str(settings.enrichment.provider_api_base_url).rstrip("/"): self.provider.url,
        }
        self._mappings = mappings_from(self.template)
        self.mapping_states = MappingStates(self._mappings)
        self.lambda_api = mappings_api(self.template, self.mapping_states)
        self.lambda_api.__enter__()
        self.parts.peers.append(self.lambda_api)
        self._start_functions(overrides, state_dir / "logs")
        self._start_pollers()
        self._start_schedules()
        names = {self.template.physical[i].ref: i for i in self.parts.functions}
        self.parts.api = LocalApi(
            self.template,
            routes_from(self.template, names),
            self.parts.functions,
            openapi_file=OPENAPI_FILE,
        )
        self.parts.api.start()
        self.write_state()

    def stop(self) -> None:
        loops = [*self.parts.schedules, *self.parts.pollers]
        for loop in loops:  # all at once: their waits for invokes in flight overlap
            loop.request_stop()
        for loop in loops:
            loop.stop()
        if self.parts.api is not None:
            self.parts.api.stop()
        with ThreadPoolExecutor(max_workers=max(1, len(self.parts.functions))) as pool:
            list(pool.map(lambda worker: worker.stop(), self.parts.functions.values()))
        for peer in self.parts.peers:
            peer.__exit__(None, None, None)
        if self.parts.moto is not None:
            self.parts.moto.stop()
        self.parts = _Parts()
        self.state_file.unlink(missing_ok=True)

    # -- what scripts and tests use ------------------------------------------------------------

    def client(self, service: str, *, max_pool_connections: int = 10) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.moto_endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            config=Config(
                retries={"mode": "standard", "max_attempts": 3},
                max_pool_connections=max_pool_connections,
            ),
        )

    @property
    def api_url(self) -> str:
        return self.parts.api.url if self.parts.api else ""

    def function(self, construct_path_part: str) -> FunctionPool:
        """The pool of the function whose construct path contains `construct_path_part`."""
        for logical_id, worker in self.parts.functions.items():
            if f"/{construct_path_part}/" in self.template.path_of(logical_id):
                return worker
        raise KeyError(construct_path_part)

    def state(self) -> dict[str, Any]:
        return {
            **runtime_state(self),
            "lambda_endpoint": self.lambda_api.url if self.lambda_api else "",
            "outputs": breaker_outputs(self.template),
        }

    def heal(self) -> bool:
        """Restart any function process that died while idle, and keep runtime.json's pids
        current (a crash during an invoke restarts the process at once; a pool that grew has
        new ones). True on a change."""
        for worker in self.parts.functions.values():
            if worker.ensure_running():
                log.warning("%s: execution environment died; restarted", worker.spec.name)
        pids = {name: worker.pids for name, worker in self.parts.functions.items()}
        if pids == self._pids:
            return False
        self._pids = pids
        self.write_state()
        return True

    def write_state(self) -> None:
        """Atomically (written aside, then renamed): readers never see a half-written file."""
        written = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}")
        written.write_text(json.dumps(self.state(), indent=2))
        os.replace(written, self.state_file)

    # -- parts ---------------------------------------------------------------------------------

    def function_label(self, logical_id: str) -> str:
        return function_label(self.template, logical_id)

    def pool_sizes(self) -> dict[str, int]:
        """Logical id → how many execution environments each Python function may have."""
        return function_pool_sizes(self.template, self._mappings, self.options.max_concurrency)

    def _start_functions(self, overrides: dict[str, str], logs: Path) -> None:
        sizes = self.pool_sizes()
        workers = [
            FunctionPool(
                function_spec(
                    self.template,
                    logical_id,
                    overrides=overrides,
                    logs=logs,
                    moto_endpoint=self.moto_endpoint,
                    region=REGION,
                    lambda_endpoint=self.lambda_api.url if self.lambda_api else None,
                ),
                size,
            )
            for logical_id, size in sizes.items()
        ]
        # One execution environment each now; the pools grow as invokes need them.
        with ThreadPoolExecutor(max_workers=len(workers) or 1) as pool:
            list(pool.map(lambda worker: worker.start(), workers))
        self.parts.functions = {w.spec.logical_id: w for w in workers}
        log.info(
            "function pools (at most %d each): %s",
            self.options.max_concurrency,
            ", ".join(f"{self.function_label(w.spec.logical_id)} {w.size}" for w in workers),
        )

    def _start_schedules(self) -> None:
        for schedule in schedules_from(self.template):
            runner = ScheduleRunner(
                schedule,
                self.parts.functions[schedule.function_logical_id],
                every_seconds=self.options.schedule_every_seconds,
            )
            runner.start()
            log.info(
                "schedule %s: every %.0fs",
                self.template.path_of(schedule.rule_logical_id),
                runner.period,
            )
            self.parts.schedules.append(runner)

    def _start_pollers(self) -> None:
        sqs = self.client("sqs", max_pool_connections=64)  # shared by every poller's batches
        for mapping in self._mappings:
            function = self.parts.functions[mapping.function_logical_id]
            poller = QueuePoller(
                mapping,
                function,
                sqs,
                region=REGION,
                retry_delay_seconds=self.options.retry_delay_seconds,
                concurrency=min(mapping.maximum_concurrency or function.size, function.size),
                states=self.mapping_states,
            )
            poller.start()
            self.parts.pollers.append(poller)
