"""A circuit breaker per downstream peer: its table, the guarded stages' wiring, and the
scheduled probe that closes a breaker when its peer answers again.

Each guarded worker learns its breaker from `CIRCUIT_BREAKER` and gets, in a policy of its own
(its role's default policy is what the function waits for; the mapping waits for the function):
UpdateItem on the breaker table, SendMessage on its own queue (a parked record goes back there),
ListEventSourceMappings (no resource ARN) to find its mapping, and Get/UpdateEventSourceMapping
on exactly that mapping's ARN. No environment names a mapping (it refers to its function): the
probe is told each stage's function and queues, finds their mappings the same way, and gets the
same actions on exactly those mappings, and GetItem/UpdateItem on the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.constructs import grants
from infra.constructs.metric_watch import MetricWatch
from infra.constructs.nag import acknowledge
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.platform import Platform
from infra.constructs.queue_with_dlq import QueueWithDlq
from infra.constructs.schedule import every_minutes
from shared.breaker.settings import BreakerThresholds, Peer

_MAPPING_ACTIONS = ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"]


@dataclass(frozen=True)
class GuardedStage:
    """A worker whose calls to `peer` (at `base_url`) the breaker guards."""

    peer: Peer
    stage: str  # the stage's name, as its failure policy knows it
    worker: PipelineFunction
    base_url: str


class CircuitBreakers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        platform: Platform,
        guarded: Sequence[GuardedStage],
    ) -> None:
        super().__init__(scope, construct_id)
        self._platform = platform
        self.guarded = list(guarded)
        self.probe_every_minutes = platform.env.circuit_breaker.probe_every_minutes
        self.table = self._build_table()
        for stage in self.guarded:
            self._guard(stage)
        self.probe = self._build_probe()
        self.schedule = self._build_schedule()
        self.functions = [self.probe]
        self.queues: list[QueueWithDlq] = []  # it owns no queue
        self.watches: list[MetricWatch] = []  # its alarms are per peer: monitoring builds them

    @property
    def mappings(self) -> dict[str, list[str]]:
        """Peer → the UUIDs of its stage's event source mappings."""
        return {
            stage.peer.value: [s.event_source_mapping_id for _, s in self._sources(stage)]
            for stage in self.guarded
        }

    def _build_table(self) -> dynamodb.Table:
        env = self._platform.env
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="peer", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=env.point_in_time_recovery
            ),
            removal_policy=RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY,
        )
        if not env.point_in_time_recovery:
            acknowledge(
                table,
                "AwsSolutions-DDB3",
                f"{env.name} holds disposable test data; PITR is on in staging and prod",
            )
        return table

    def _guard(self, stage: GuardedStage) -> None:
        # What `shared.breaker.settings.GuardedStages` reads; one value for every worker.
        thresholds = self._platform.env.circuit_breaker.model_dump(
            include=set(BreakerThresholds.model_fields)
        )
        guarded = {
            "table_name": self.table.table_name,
            **thresholds,
            "stages": {g.stage: g.peer.value for g in self.guarded},
        }
        stage.worker.function.add_environment(
            "CIRCUIT_BREAKER", Stack.of(self).to_json_string(guarded)
        )
        policy = iam.Policy(
            self,
            f"{_pascal(stage.peer)}WorkerPolicy",
            roles=[stage.worker.role],
            statements=[
                iam.PolicyStatement(
                    actions=["dynamodb:UpdateItem"], resources=[self.table.table_arn]
                ),
                iam.PolicyStatement(actions=["lambda:ListEventSourceMappings"], resources=["*"]),
                iam.PolicyStatement(
                    actions=_MAPPING_ACTIONS,
                    resources=[
                        source.event_source_mapping_arn for _, source in self._sources(stage)
                    ],
                ),
            ],
        )
        for pair, _ in self._sources(stage):
            grants.send_to(pair.queue, stage.worker.role)  # a parked record goes back there
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "lambda:ListEventSourceMappings takes no resource ARN: the worker lists its own "
            "function's mappings of its own queue, then pauses only that mapping (by its ARN)",
        )

    @staticmethod
    def _sources(stage: GuardedStage) -> list[tuple[QueueWithDlq, sources.SqsEventSource]]:
        if not stage.worker.event_sources:
            raise ValueError(f"{stage.worker.name} polls no queue: nothing to pause")
        return stage.worker.event_sources

    def _targets(self) -> list[dict[str, Any]]:
        probes = self._platform.env.circuit_breaker.probes
        found = []
        for stage in self.guarded:
            probe = probes[stage.peer]
            # What `shared.breaker.settings.ProbeTarget` reads.
            found.append(
                {
                    "peer": stage.peer.value,
                    "method": probe.method,
                    "url": stage.base_url.rstrip("/") + probe.path,
                    "function_name": stage.worker.function.function_name,
                    "source_arns": [pair.queue.queue_arn for pair, _ in self._sources(stage)],
                }
            )
        return found

    def _build_probe(self) -> PipelineFunction:
        env = self._platform.env
        probe = self._platform.function(
            self,
            "Probe",
            handler="breaker_probe.handler.handler",
            description="Closes a circuit breaker when its peer answers again; reports its state",
            settings=env.functions.breaker_probe,
            environment={
                "BREAKER_TABLE_NAME": self.table.table_name,
                "BREAKER_TARGETS": Stack.of(self).to_json_string(self._targets()),
                "PROBE_TIMEOUT_SECONDS": str(env.circuit_breaker.probe_timeout_seconds),
            },
            records_events=False,
        )
        grants.table_actions(self.table, probe.role, "GetItem", "UpdateItem")
        arns = [s.event_source_mapping_arn for g in self.guarded for _, s in self._sources(g)]
        policy = iam.Policy(
            self,
            "ProbePolicy",
            roles=[probe.role],
            statements=[
                iam.PolicyStatement(actions=["lambda:ListEventSourceMappings"], resources=["*"]),
                iam.PolicyStatement(actions=_MAPPING_ACTIONS, resources=arns),
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "lambda:ListEventSourceMappings takes no resource ARN: the probe lists the guarded "
            "workers' mappings of their queues, then pauses or resumes only those (by ARN)",
        )
        return probe

    def _build_schedule(self) -> events.Rule:
        return every_minutes(
            self,
            "Schedule",
            minutes=self._platform.env.circuit_breaker.probe_every_minutes,
            function=self.probe.function,
            purpose="Probes the peers of open circuit breakers",
        )


def _pascal(peer: Peer) -> str:
    return "".join(part.title() for part in peer.value.split("_"))
