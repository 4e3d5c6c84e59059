"""The circuit breakers as synthesized: each guarded worker told its breaker and allowed to pause
exactly its own mapping, the probe scheduled and allowed exactly the guarded mappings, one alarm
per peer with its runbook section."""

from __future__ import annotations

import json

from catalog.stages import ENRICH
from orders.stages import DOWNLOAD, PROCESSING
from shared.breaker.settings import GuardedStages, Peer, ProbeTarget
from tests.infra.synthesis import Synth, settings

WORKERS = {
    "DownloadWorker": (DOWNLOAD.name, Peer.MARKETPLACE_API, "DownloadQueue"),
    "ProcessingWorker": (PROCESSING.name, Peer.INTERNAL_API, "ProcessingQueue"),
    "Catalog/Worker": (ENRICH.name, Peer.PROVIDER, "Catalog/Queue"),
}
PROBE = "CircuitBreaker/Probe"
MAPPING_ACTIONS = {"lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"}


def _mapping_arns(synth: Synth, grants: set[tuple[str, str]]) -> set[str]:
    return {r for a, r in grants if a == "lambda:UpdateEventSourceMapping"}


def test_every_guarded_worker_knows_its_stage_and_peer_from_one_setting(synth: Synth) -> None:
    values = {synth.render(synth.environment_of(w)["CIRCUIT_BREAKER"]) for w in WORKERS}
    # One value for every worker (the tests' shared environment needs that), naming each stage
    [value] = values
    guarded = GuardedStages.model_validate_json(value)
    assert guarded.stages == {stage: peer for stage, peer, _ in WORKERS.values()}
    assert guarded.table_name == "CircuitBreaker/Table"
    assert guarded.failure_threshold == settings(synth.env).circuit_breaker.failure_threshold


def test_a_worker_may_pause_only_its_own_mapping(synth: Synth) -> None:
    for worker, (_, _, queue) in WORKERS.items():
        grants = synth.grants_of(worker)
        [arn] = _mapping_arns(synth, grants)
        assert ":event-source-mapping:" in arn
        assert f"{worker}/Function/SqsEventSource" in arn, worker
        assert ("lambda:GetEventSourceMapping", arn) in grants
        assert ("lambda:ListEventSourceMappings", "*") in grants
        assert ("dynamodb:UpdateItem", "CircuitBreaker/Table.Arn") in grants
        assert ("sqs:SendMessage", f"{queue}/Queue.Arn") in grants, worker


def test_the_probe_may_steer_exactly_the_guarded_mappings(synth: Synth) -> None:
    grants = synth.grants_of(PROBE)
    arns = _mapping_arns(synth, grants)
    assert len(arns) == len(WORKERS)
    assert all(any(f"{w}/Function/SqsEventSource" in arn for arn in arns) for w in WORKERS)
    assert {a for a, _ in grants if a.startswith("lambda:")} == {
        *MAPPING_ACTIONS,
        "lambda:ListEventSourceMappings",
    }
    assert {a for a, r in grants if r == "CircuitBreaker/Table.Arn"} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
    }


def test_the_probe_checks_each_peer_as_configured_on_its_schedule(synth: Synth) -> None:
    config = settings(synth.env).circuit_breaker
    raw = json.loads(synth.render(synth.environment_of(PROBE)["BREAKER_TARGETS"]))
    targets = [ProbeTarget.model_validate(t) for t in raw]
    assert {t.peer for t in targets} == set(Peer)
    for target in targets:
        assert target.url.endswith(config.probes[target.peer].path)
        assert target.method == config.probes[target.peer].method
    [rule] = [
        r
        for i, r in synth.resources("AWS::Events::Rule").items()
        if synth.path_of(i) == "CircuitBreaker/Schedule"
    ]
    minutes = config.probe_every_minutes
    unit = "minute" if minutes == 1 else "minutes"
    assert rule["Properties"]["ScheduleExpression"] == f"rate({minutes} {unit})"


def test_each_peer_has_an_alarm_on_its_open_breaker_with_its_runbook_section(
    synth: Synth,
) -> None:
    alarms = {name: alarm for name, alarm in synth.alarms().items() if "-CircuitOpen-" in name}
    watched = {}
    for name, alarm in alarms.items():
        [query] = alarm["Metrics"]
        metric = query["MetricStat"]["Metric"]
        assert metric["MetricName"] == "CircuitOpen", name
        dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dimensions["service"] == "CircuitBreakerProbe", name
        watched[dimensions["peer"]] = alarm
        assert "#circuit-breaker-open" in alarm["AlarmDescription"], name
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1), name
        assert alarm["TreatMissingData"] == "notBreaching"
    assert set(watched) == {p.value for p in Peer}
