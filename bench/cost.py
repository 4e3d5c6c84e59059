"""What each pipeline costs on AWS at prod's config: $ per million order webhooks end to end,
$ per million ERP webhooks, $ per 1,000 catalog products.

Inputs, all from this run: the AWS calls and capacity units per unit of work of every stage
(`bench.calls.usage`), each function's warm invoke time and log bytes per record on the local
runtime (`bench.local_e2e.observed`), prod's memory sizes, WAF and log retention
(infra/config, as the stack is synthesized from it) and one dated price table
(bench/prices.json). Where a figure rests on an assumption, the section's notes say which.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from bench import bare, local_e2e
from bench.cost_floor import FLOOR_NAME, floor_notes, floor_per_webhook
from bench.cost_load import (
    PLATFORM_LOG_BYTES_PER_INVOKE,
    POLLERS,
    STEADY_RATE,
    TRICKLE_RATE,
    Load,
    stage_load,
)
from bench.model import ONE_VCPU_MB, Row, Section, StageUsage
from bench.prices import PriceTable, price_table
from infra.config import EnvironmentSettings, load_settings
from local.synth import environments

ENV = "prod"
GB = 1024**3
TARGET_PER_MILLION_ORDERS = 10.0
# A stage's function: its settings key in infra/config and its construct's logical-id base.
STAGE_FUNCTIONS = {
    "ingest": ("ingest", "IngestFunction"),
    "download": ("download_worker", "DownloadWorkerFunction"),
    "processing": ("processing_worker", "ProcessingWorkerFunction"),
    "erp-ingest": ("erp_ingest", "ErpIngestFunction"),
    "erp-sync": ("erp_sync_worker", "ErpSyncWorkerFunction"),
    "catalog-ingest": ("catalog_api", "CatalogApiFunction"),
    "enrichment": ("enrichment_worker", "CatalogWorkerFunction"),
}
# pipeline -> (title, how many units a row is priced for, the unit, what arrives a second)
PIPELINES = {
    "orders": ("Order webhooks", 1_000_000, "$ per 1M order webhooks", "webhooks"),
    "erp": ("ERP webhooks", 1_000_000, "$ per 1M ERP webhooks", "webhooks"),
    "catalog": ("Catalog enrichment", 1_000, "$ per 1,000 products", "products"),
}
S3_PUT_TIER = ("PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2")


@dataclass
class Bill:
    """Dollars per unit of a stage's work, by service; and what could not be priced."""

    usd: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    unpriced: list[str] = field(default_factory=list)


def _calls(usage: StageUsage, service: str) -> dict[str, int]:
    prefix = f"{service}."
    return {k.removeprefix(prefix): v for k, v in usage.calls.items() if k.startswith(prefix)}


def _requests(usage: StageUsage, bill: Bill, prices: PriceTable) -> None:
    """SQS, S3, DynamoDB, Secrets Manager: the calls and units the stage makes."""
    each = prices.each
    bill.usd["SQS"] += sum(_calls(usage, "sqs").values()) * each("sqs_request")
    for operation, count in _calls(usage, "s3").items():
        tier = "s3_put_request" if operation in S3_PUT_TIER else "s3_get_request"
        bill.usd["S3 requests"] += count * each(tier)
    bill.usd["S3 storage (1st month)"] += usage.s3_bytes_stored / GB * each("s3_storage_gb_month")
    bill.usd["DynamoDB"] += usage.write_units * each("dynamodb_write_request_unit")
    bill.usd["DynamoDB"] += usage.read_units * each("dynamodb_read_request_unit")
    secrets = sum(_calls(usage, "secretsmanager").values())
    bill.usd["Secrets Manager"] += secrets * each("secrets_manager_api_call")
    known = ("sqs.", "s3.", "dynamodb.", "secretsmanager.")
    bill.unpriced += [f"{usage.stage}: {k}" for k in usage.calls if not k.startswith(known)]


def _compute(
    use: local_e2e.FunctionUse,
    memory_mb: int,
    settings: EnvironmentSettings,
    load: Load,
    bill: Bill,
    *,
    at_cpu_share: bool = False,
) -> None:
    """One record's share of its invoke: Lambda, its front door (API Gateway, WAF) or its event
    source (SQS), its logs and its trace. `at_cpu_share`: the invoke time taken as all CPU, and
    stretched to the function's share of a vCPU (an upper bound for Lambda's duration)."""
    each = price_table().each
    records = load.records_per_invoke
    stretch = max(1.0, ONE_VCPU_MB / memory_mb) if at_cpu_share else 1.0
    # An invoke bills its records' time (handled one after another: an upper bound where the
    # handler overlaps them), rounded up to 1 ms; the record pays its share.
    billed_seconds = math.ceil(use.ms_per_record * stretch * records) / 1000
    per_invoke = memory_mb / 1024 * billed_seconds * each("lambda_arm64_gb_second")
    bill.usd["Lambda"] += (per_invoke + each("lambda_request")) / records
    if use.api_invokes:
        bill.usd["API Gateway"] += each("api_gateway_rest_request")
        if settings.api.waf.enabled:
            bill.usd["WAF"] += each("waf_request")
    bill.usd["SQS"] += load.sqs_requests_per_invoke * each("sqs_request") / records
    logged = (use.kept_log_bytes_per_record + PLATFORM_LOG_BYTES_PER_INVOKE / records) / GB
    months = settings.log_retention_days / 30
    bill.usd["CloudWatch Logs"] += logged * each("logs_ingested_gb")
    bill.usd["CloudWatch Logs"] += logged * months * each("logs_stored_gb_month")
    bill.usd["X-Ray"] += load.traced_share * each("xray_trace_recorded") / records


def stage_bill(
    usage: StageUsage,
    observed: local_e2e.Observed,
    settings: EnvironmentSettings,
    rate: float = STEADY_RATE,
    *,
    at_cpu_share: bool = False,
) -> Bill:
    """Dollars per webhook (or product) of the stage at `rate` webhooks (or products) a second:
    its requests per unit times units per webhook, plus its function's share of an invoke per
    record times records per webhook (as measured)."""
    bill = Bill()
    _requests(usage, bill, price_table())
    for service in bill.usd:
        bill.usd[service] *= usage.units_per_webhook
    function = STAGE_FUNCTIONS.get(usage.stage)
    use = observed.functions.get(function[1]) if function else None
    sent = observed.sent.get(usage.pipeline, 0)
    if function is None or use is None or not use.records or not sent:
        bill.unpriced.append(f"{usage.stage}: compute, logs, traces (no timed invokes)")
        return bill
    if "arm64" not in use.architectures:
        bill.unpriced.append(f"{usage.stage}: architectures {use.architectures} (arm64 priced)")
    per_webhook = use.records / sent
    load = stage_load(usage.stage, settings, rate * per_webhook)
    compute = Bill()
    memory_mb = getattr(settings.functions, function[0]).memory_mb
    _compute(use, memory_mb, settings, load, compute, at_cpu_share=at_cpu_share)
    for service, usd in compute.usd.items():
        bill.usd[service] += usd * per_webhook
    return bill


def _by_service(
    usages: list[StageUsage],
    observed: local_e2e.Observed,
    settings: EnvironmentSettings,
    rate: float,
    scale: int,
    *,
    at_cpu_share: bool = False,
) -> tuple[dict[str, float], list[str]]:
    by_service: dict[str, float] = defaultdict(float)
    unpriced: list[str] = []
    for usage in usages:
        bill = stage_bill(usage, observed, settings, rate, at_cpu_share=at_cpu_share)
        for service, usd in bill.usd.items():
            by_service[service] += usd * scale
        unpriced += bill.unpriced
    return by_service, unpriced


def _total_row(pipeline: str, total: float, rate: float, floor: float | None) -> Row:
    title, _, unit, arrivals = PIPELINES[pipeline]
    orders = pipeline == "orders"
    return Row(
        name=f"{title}: total, end to end, at a steady {rate:g} {arrivals}/s",
        value=total,
        unit=unit,
        floor=floor,
        floor_name=FLOOR_NAME if floor is not None else None,
        ratio=total / floor if floor else None,
        target=f"≤ ${TARGET_PER_MILLION_ORDERS:g} per million order webhooks" if orders else None,
        meets_target=total <= TARGET_PER_MILLION_ORDERS if orders else None,
    )


def _trickle_note(pipeline: str, steady: dict[str, float], trickle: dict[str, float]) -> str:
    arrivals = PIPELINES[pipeline][3]
    changed = [
        f"{service} ${trickle[service]:.3g} (from ${steady.get(service, 0.0):.3g})"
        for service in sorted(trickle, key=lambda s: -trickle[s])
        if not math.isclose(trickle[service], steady.get(service, 0.0), rel_tol=1e-3)
    ]
    what = ", ".join(changed) if changed else "nothing"
    return f"At a steady {TRICKLE_RATE:g} {arrivals}/s, what changes: {what}."


def pipeline_section(
    pipeline: str, usages: list[StageUsage], observed: local_e2e.Observed
) -> Section:
    settings = load_settings(environments(), ENV)
    title, scale, unit, _ = PIPELINES[pipeline]
    steady, unpriced = _by_service(usages, observed, settings, STEADY_RATE, scale)
    trickle, _ = _by_service(usages, observed, settings, TRICKLE_RATE, scale)
    prices = price_table()
    orders = pipeline == "orders"
    floor = floor_per_webhook(prices) * scale if orders else None
    total = sum(steady.values())
    rows = [
        _total_row(pipeline, total, STEADY_RATE, floor),
        _total_row(pipeline, sum(trickle.values()), TRICKLE_RATE, floor),
        *(
            Row(name=f"{title}: {service}", value=usd, unit=unit)
            for service, usd in sorted(steady.items(), key=lambda kv: -kv[1])
            if usd > 0
        ),
    ]
    if floor is not None:
        rows.append(Row(name=f"{title}: floor, {FLOOR_NAME}", value=floor, unit=unit))
    stages = ", ".join(f"{u.stage} ({u.units_per_webhook:g} {u.unit})" for u in usages)
    stretched, _ = _by_service(usages, observed, settings, STEADY_RATE, scale, at_cpu_share=True)
    notes = [
        f"Stages: {stages}. Services at the steady {STEADY_RATE:g}/s.",
        _trickle_note(pipeline, steady, trickle),
        f"Lambda at prod's CPU share: the invoke times were measured on a full vCPU, which "
        f"Lambda gives at {ONE_VCPU_MB:,} MB; taken as all CPU and stretched to each "
        f"function's share (1,769 / memory), Lambda would be ${stretched['Lambda']:.3g} (from "
        f"${steady['Lambda']:.3g}) and the total ${sum(stretched.values()):.3g}: an upper "
        "bound, since part of each invoke is waiting.",
    ]
    if orders:
        notes += floor_notes(
            total, steady, usages, prices, TARGET_PER_MILLION_ORDERS, settings.event_ttl_days / 30
        )
    if unpriced:
        notes.append("Not priced: " + "; ".join(sorted(set(unpriced))) + ".")
    return Section(
        key=f"cost_{pipeline}",
        title=f"Cost: {title.lower()} ({ENV})",
        method="Calls and capacity units per unit of work (bench.calls) x the price table; "
        "Lambda GB-s and log bytes from warm invokes on the local runtime (bench.local_e2e) at "
        "prod's memory, batched as prod's mappings batch at a steady arrival rate.",
        rows=rows,
        notes=notes,
    )


def _log_note(observed: local_e2e.Observed) -> str:
    written = sum(use.log_bytes for use in observed.functions.values())
    kept = sum(use.log_bytes_kept for use in observed.functions.values())
    return (
        f"Logs measured: the functions wrote {written:,} bytes while timed, {kept:,} of them "
        "at INFO and above: what prod's level leaves out is the difference."
    )


def _assumptions(prices: PriceTable, settings: EnvironmentSettings) -> list[str]:
    download = settings.queues.download
    return [
        f"Prices: bench/prices.json, {prices.region}, read {prices.date}: {prices.note}",
        f"Batches: records per invoke = min(batch size, the arrivals one of Lambda's {POLLERS} "
        "pollers gathers in the batching window, at least 1); prod's order queues batch "
        f"{download.batch_size} records in {download.batching_window_seconds} s, so batches "
        f"fill at {STEADY_RATE:g}/s and hold 1 record at {TRICKLE_RATE:g}/s. A larger backlog "
        "(more pollers) only fills them sooner.",
        "SQS, the mapping's requests: one ReceiveMessage per batch (it returns up to 10 waiting "
        "messages) and one DeleteMessageBatch per successful batch (Lambda deletes what the "
        "function handled; a record reported failed is left to its retry). If the poller "
        "received each message as it arrived, receives would be one per record: +$0.36 per "
        "1M records a queue at 10 a batch. Idle pollers' empty 20 s long polls are a monthly "
        f"fixed fee ({POLLERS} x 3 a minute = 648,000 requests, $0.26 a queue a month), left out.",
        "Lambda duration: the warm invoke time per record on this machine (local stand-ins "
        "answer in about 1 ms, so peer latency on AWS adds to it) times the records of a batch, "
        "rounded up to 1 ms, at prod's memory; cold starts are not included.",
        f"CloudWatch Logs: only the lines at {settings.log_level} and above (prod's application "
        "log level) of what each function wrote locally at dev's DEBUG, plus "
        f"{PLATFORM_LOG_BYTES_PER_INVOKE} bytes an invoke of Lambda's platform.start and "
        "platform.report (system log level INFO); ingested, then stored uncompressed for the "
        f"{settings.log_retention_days}-day retention (AWS bills storage compressed: an upper "
        "bound).",
        "X-Ray: the default sampling rule (the stack sets none): 1 request a second, then 5% "
        "of the rest, per entry point (API Gateway for API requests, whose trace holds the "
        "function; each queue-triggered invoke a trace of its own, linked to its producers').",
        "Not included: the free tiers, data transfer, KMS, API access logs and WAF logs, "
        "CloudWatch metrics, alarms and dashboards, monthly fixed fees (WAF web ACL and rules, "
        "Secrets Manager secrets, idle polling).",
    ]


def measure(quick: bool = False) -> list[Section]:
    usage = bare.counted_usage(quick)
    if usage is None:  # nothing to price: say so rather than price a guess
        return [
            Section(
                key="cost",
                title="Cost",
                method="Not measured.",
                rows=[],
                notes=["bench.calls (the usage per stage this model prices) does not exist."],
            )
        ]
    observed = local_e2e.observed(quick)
    settings = load_settings(environments(), ENV)
    sections = [
        pipeline_section(pipeline, [u for u in usage if u.pipeline == pipeline], observed)
        for pipeline in PIPELINES
        if any(u.pipeline == pipeline for u in usage)
    ]
    if sections:
        first = sections[0]
        sections[0] = first.model_copy(
            update={
                "notes": [*first.notes, *_assumptions(price_table(), settings), _log_note(observed)]
            }
        )
    return sections
