"""The queue pairs and the event sources that poll them."""

from __future__ import annotations

import json

import pytest

from tests.infra.stack_parts import ERP_LANES, FUNCTION_PATHS, QUEUES
from tests.infra.synthesis import Synth, assert_tls_only, settings


@pytest.mark.parametrize("queue", list(QUEUES))
def test_queues_have_encrypted_tls_only_dlqs_and_long_enough_visibility(
    synth: Synth, queue: str
) -> None:
    config = settings(synth.env)
    _, consumer_key, function = QUEUES[queue]
    consumer = getattr(config.queues, consumer_key)
    timeout = getattr(config.functions, function).timeout_seconds
    source = synth.one("AWS::SQS::Queue", f"{queue}/Queue")["Properties"]
    dlq = synth.one("AWS::SQS::Queue", f"{queue}/Dlq")["Properties"]
    assert source["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert source["VisibilityTimeout"] >= 6 * timeout
    assert source["RedrivePolicy"]["maxReceiveCount"] == consumer.max_receive_count
    assert source["MessageRetentionPeriod"] == 4 * 24 * 3600
    # SQS's largest message (1 MiB) on both: anything larger travels as a claim check
    assert source["MaximumMessageSize"] == dlq["MaximumMessageSize"] == 1024 * 1024
    # The worker retries on the schedule the redrive policy counts: one config entry for both
    [mapping] = [
        resource
        for resource in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if synth.render(resource["Properties"]["EventSourceArn"]) == f"{queue}/Queue.Arn"
    ]
    worker = synth.raw["Resources"][mapping["Properties"]["FunctionName"]["Ref"]]
    schedule = json.loads(worker["Properties"]["Environment"]["Variables"]["RETRY_SCHEDULE"])
    assert tuple(schedule["delays_seconds"]) == consumer.retry_delays_seconds
    assert len(schedule["delays_seconds"]) + 1 == source["RedrivePolicy"]["maxReceiveCount"]
    assert schedule["max_delay_seconds"] <= 43200 - timeout
    assert synth.render(source["RedrivePolicy"]["deadLetterTargetArn"]) == f"{queue}/Dlq.Arn"
    for part in ("Queue", "Dlq"):
        assert_tls_only(synth, "AWS::SQS::QueuePolicy", "Queues", f"{queue}/{part}")


def test_workers_poll_their_queue_with_partial_batch_responses(synth: Synth) -> None:
    config = settings(synth.env)
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    by_queue = {synth.render(m["Properties"]["EventSourceArn"]): m["Properties"] for m in mappings}
    assert set(by_queue) == {f"{queue}/Queue.Arn" for queue in QUEUES}
    for queue, (_, consumer_key, function) in QUEUES.items():
        consumer = getattr(config.queues, consumer_key)
        mapping = by_queue[f"{queue}/Queue.Arn"]
        assert synth.render(mapping["FunctionName"]) == f"{FUNCTION_PATHS[function]}/Function"
        assert mapping["BatchSize"] == consumer.batch_size
        assert mapping.get("MaximumBatchingWindowInSeconds", 0) == consumer.batching_window_seconds
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        expected = {"MaximumConcurrency": consumer.max_concurrency}
        assert mapping.get("ScalingConfig") == (expected if consumer.max_concurrency else None)


def test_the_erp_lanes_poll_with_more_concurrency_the_more_urgent_they_are(synth: Synth) -> None:
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    by_queue = {synth.render(m["Properties"]["EventSourceArn"]): m["Properties"] for m in mappings}
    high, standard, low = (
        by_queue[f"Erp/{lane}Lane/Queue.Arn"]["ScalingConfig"]["MaximumConcurrency"]
        for lane in ERP_LANES
    )
    assert high > standard > low >= 2


def test_every_event_source_caps_its_pollers_at_the_functions_reservation(synth: Synth) -> None:
    functions = synth.resources("AWS::Lambda::Function")
    mappings = synth.resources("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == len(QUEUES)
    for mapping in mappings:
        function = functions[mapping["Properties"]["FunctionName"]["Ref"]]["Properties"]
        maximum = mapping["Properties"]["ScalingConfig"]["MaximumConcurrency"]
        reserved = function.get("ReservedConcurrentExecutions")
        assert maximum >= 2
        if reserved is not None:
            assert maximum <= reserved, mapping["Properties"]["EventSourceArn"]
