"""The cost model's arithmetic, on a fixture of usage and invoke times (the real run prices
what bench.calls counted and bench.local_e2e timed); and the bare floor's plan of calls."""

from __future__ import annotations

import pytest

from bench import bare, cost, cost_floor, cost_load
from bench.local_e2e import FunctionUse, Observed, base_name
from bench.model import StageUsage
from bench.prices import price_table
from infra.config import load_settings
from local.synth import environments

# FIXTURE, for these tests only: the shape bench.calls reports, with round numbers.
INGEST = StageUsage(
    pipeline="orders",
    stage="ingest",
    unit="webhook",
    calls={"dynamodb.PutItem": 1, "dynamodb.UpdateItem": 1, "sqs.SendMessage": 1},
    read_units=0.0,
    write_units=4.0,
)
DOWNLOAD = StageUsage(
    pipeline="orders",
    stage="download",
    unit="record",
    calls={"s3.PutObject": 1, "dynamodb.UpdateItem": 1, "sqs.SendMessage": 1},
    read_units=0.5,
    write_units=2.0,
    s3_bytes_stored=2048,
)
USES = {  # FIXTURE: warm invokes as bench.local_e2e times them
    "IngestFunction": FunctionUse(
        invokes=10, records=10, seconds=0.5, log_bytes=10_000, log_bytes_kept=4_000,
        api_invokes=10, architectures=("arm64",),
    ),
    "DownloadWorkerFunction": FunctionUse(
        invokes=2, records=10, seconds=1.0, log_bytes=5_000, log_bytes_kept=5_000,
        architectures=("arm64",),
    ),
}  # fmt: skip
OBSERVED = Observed(sections=[], functions=USES, sent={"orders": 10})  # 1 record a webhook
PROD = load_settings(environments(), "prod")


def _per_unit(name: str) -> float:
    return price_table().each(name)


def test_the_price_table_is_dated_and_sourced() -> None:
    table = price_table()
    assert table.date
    assert table.region == "us-east-1"
    assert all(p.source.startswith("https://aws.amazon.com/") for p in table.prices.values())
    # The November 2024 on-demand prices
    assert _per_unit("dynamodb_write_request_unit") == pytest.approx(0.625e-6)
    assert _per_unit("dynamodb_read_request_unit") == pytest.approx(0.125e-6)


def test_an_api_stage_pays_api_gateway_waf_lambda_and_its_own_requests() -> None:
    # Given the ingest's usage and invoke times at prod's config, at 50 webhooks/s
    bill = cost.stage_bill(INGEST, OBSERVED, PROD, rate=50)
    # Then each service is priced from its units
    assert bill.usd["DynamoDB"] == pytest.approx(4 * _per_unit("dynamodb_write_request_unit"))
    assert bill.usd["SQS"] == pytest.approx(_per_unit("sqs_request"))  # no event source
    assert bill.usd["API Gateway"] == pytest.approx(_per_unit("api_gateway_rest_request"))
    assert bill.usd["WAF"] == pytest.approx(_per_unit("waf_request"))  # prod has WAF
    # And Lambda bills 50 ms at prod's 512 MB, plus the request: an invoke per request
    gb_seconds = PROD.functions.ingest.memory_mb / 1024 * 0.050
    assert bill.usd["Lambda"] == pytest.approx(
        gb_seconds * _per_unit("lambda_arm64_gb_second") + _per_unit("lambda_request")
    )
    # And only the lines prod's level keeps are logged, plus Lambda's own lines an invoke
    gb = (400 + cost_load.PLATFORM_LOG_BYTES_PER_INVOKE) / 1024**3
    assert bill.usd["CloudWatch Logs"] == pytest.approx(
        gb * _per_unit("logs_ingested_gb")
        + gb * PROD.log_retention_days / 30 * _per_unit("logs_stored_gb_month")
    )
    # And X-Ray records the reservoir's 1 a second plus 5% of the other 49
    assert bill.usd["X-Ray"] == pytest.approx(3.45 / 50 * _per_unit("xray_trace_recorded"))
    assert bill.unpriced == []


def test_a_queued_stage_shares_its_invoke_and_the_mappings_requests_in_a_full_batch() -> None:
    # Given 50 webhooks/s: each of 5 pollers gathers 20 records in prod's 2 s window: 10 a batch
    bill = cost.stage_bill(DOWNLOAD, OBSERVED, PROD, rate=50)
    # Then its own SendMessage, and a tenth of one ReceiveMessage and one DeleteMessageBatch
    assert bill.usd["SQS"] == pytest.approx(1.2 * _per_unit("sqs_request"))
    assert bill.usd["S3 requests"] == pytest.approx(_per_unit("s3_put_request"))
    assert "API Gateway" not in bill.usd
    # And an invoke bills its 10 records' 100 ms each: the record pays 100 ms and 0.1 request
    expected = PROD.functions.download_worker.memory_mb / 1024 * 0.100
    assert bill.usd["Lambda"] == pytest.approx(
        expected * _per_unit("lambda_arm64_gb_second") + _per_unit("lambda_request") / 10
    )


def test_a_trickle_pays_an_invoke_the_mappings_requests_and_a_trace_per_record() -> None:
    # Given 1 webhook/s: a poller's window holds one record
    bill = cost.stage_bill(DOWNLOAD, OBSERVED, PROD, rate=1)
    assert bill.usd["SQS"] == pytest.approx(3 * _per_unit("sqs_request"))
    # And below the reservoir every invoke is traced
    assert bill.usd["X-Ray"] == pytest.approx(_per_unit("xray_trace_recorded"))


def test_records_per_invoke_follow_the_batch_size_and_the_window() -> None:
    queue = PROD.queues.download  # 10 a batch, a 2 s window
    assert cost_load.records_per_invoke(queue, 50) == 10
    assert cost_load.records_per_invoke(queue, 10) == 4  # 2 a second a poller, for 2 s
    assert cost_load.records_per_invoke(queue, 1) == 1
    assert cost_load.records_per_invoke(PROD.queues.enrichment, 50) == 1  # batch size 1


def test_the_sampled_share_is_the_reservoir_then_five_percent() -> None:
    assert cost_load.sampled_share(0.5) == 1.0
    assert cost_load.sampled_share(1) == 1.0
    assert cost_load.sampled_share(21) == pytest.approx(2 / 21)


def test_only_the_lines_at_info_and_above_are_kept() -> None:
    lines = [
        b'{"level":"DEBUG","message":"boto call"}\n',
        b'{"level":"INFO","message":"accepted"}\n',
        b'{"level":"WARNING","message":"slow"}\n',
        b"Traceback (most recent call last):\n",
    ]
    assert cost_load.kept_bytes(lines) == sum(map(len, lines[1:]))


def test_a_unit_of_several_webhooks_is_shared_between_them() -> None:
    # Given a stage whose unit is a batch of 4 records (a quarter of a unit per webhook)
    batch = DOWNLOAD.model_copy(update={"units_per_webhook": 0.25})
    whole, shared = (cost.stage_bill(u, OBSERVED, PROD) for u in (DOWNLOAD, batch))
    # Then its requests are shared, its function's invokes (1 record a webhook) are not
    assert shared.usd["S3 requests"] == pytest.approx(whole.usd["S3 requests"] / 4)
    assert shared.usd["Lambda"] == pytest.approx(whole.usd["Lambda"])


def test_what_cannot_be_priced_is_named_not_guessed() -> None:
    # Given a stage with a call the table has no price for, and no timed function
    odd = INGEST.model_copy(update={"stage": "mystery", "calls": {"events.PutEvents": 1}})
    bill = cost.stage_bill(odd, OBSERVED, PROD)
    assert "mystery: events.PutEvents" in bill.unpriced
    assert any("no timed invokes" in item for item in bill.unpriced)
    assert "Lambda" not in bill.usd


def test_the_order_pipeline_is_totalled_per_million_against_its_target_and_floor() -> None:
    section = cost.pipeline_section("orders", [INGEST, DOWNLOAD], OBSERVED)
    steady, trickle, *services, floor = section.rows
    assert steady.unit == "$ per 1M order webhooks"
    assert "50 webhooks/s" in steady.name
    assert "1 webhooks/s" in trickle.name
    assert steady.value == pytest.approx(sum(row.value for row in services))
    assert trickle.value > steady.value  # unfilled batches, every request traced
    assert steady.target == "≤ $10 per million order webhooks"
    assert steady.meets_target is (steady.value <= 10)
    # And the services come most expensive first
    assert [r.value for r in services] == sorted((r.value for r in services), reverse=True)
    # And the floor: REST API, WAF, an S3 PUT and a GET per webhook, the totals' ratios to it
    assert floor.value == pytest.approx(9.50)
    assert steady.floor == pytest.approx(9.50)
    assert steady.ratio == pytest.approx(steady.value / 9.50)


def test_the_changes_below_the_floor_are_priced() -> None:
    prices = price_table()
    # An HTTP API without WAF: $3.50 + $0.60 - $1.00 per million
    assert cost_floor.http_api_saving(prices) * 1e6 == pytest.approx(3.10)
    # A 2 KB payload on the DynamoDB item: the PUT and GET saved, 2 WCU and 1 RCU paid
    saving = cost_floor.dynamodb_payload_saving(prices, 2048) * 1e6
    assert saving == pytest.approx(5.40 + 2048 / 1024**3 * 1e6 * (0.023 - 0.25) - 2 * 0.625 - 0.125)


def test_the_bare_floor_issues_what_it_can_and_names_the_rest() -> None:
    planned = bare.plan({"dynamodb.UpdateItem": 2, "sqs.SendMessage": 1, "kms.Decrypt": 1,
                         "dynamodb.PutItem": 1.0, "s3.GetObject": 0.2})  # fmt: skip
    assert planned.issued == {"dynamodb.UpdateItem": 2, "sqs.SendMessage": 1, "dynamodb.PutItem": 1}
    assert planned.not_issued == {"kms.Decrypt": 1}
    # Writes first, so the reads and updates of a unit find its item
    assert planned.calls[0] == (0, bare.CALLS["dynamodb.PutItem"])
    assert len(planned.calls) == 4


def test_logical_ids_lose_their_hash_suffix() -> None:
    assert base_name("IngestFunctionB02ED0EB") == "IngestFunction"


def test_latency_rows_set_the_waits_apart_from_the_work() -> None:
    from bench.local_e2e import _latency_rows

    # Given latencies of about 2.1 s behind 2 s of batching windows and 80 ms of bare work
    rows = _latency_rows([2.10, 2.12, 2.30], windows=2.0, work=0.08)
    median, p95, beyond = rows
    # Then the first two rows stand against windows + work, the third against the work alone
    assert median.value == pytest.approx(2120)
    assert median.floor == pytest.approx(2080)
    assert p95.value == pytest.approx(2300)
    assert beyond.value == pytest.approx(120)
    assert beyond.ratio == pytest.approx(1.5)
    # And without a counted floor the rows carry none
    assert all(row.floor is None for row in _latency_rows([2.1], windows=2.0, work=None))
