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
from bench.model import Row, Section, StageUsage
from bench.prices import PriceTable, price_table
from infra.config import EnvironmentSettings, load_settings
from local.synth import environments

ENV = "prod"
GB = 1024**3
TARGET_PER_MILLION_ORDERS = 10.0
XRAY_SAMPLED = 0.05  # the default sampling rule past its 1 request/s reservoir
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
PIPELINES = {  # pipeline -> (title, how many units a row is priced for, the unit)
    "orders": ("Order webhooks", 1_000_000, "$ per 1M order webhooks"),
    "erp": ("ERP webhooks", 1_000_000, "$ per 1M ERP webhooks"),
    "catalog": ("Catalog enrichment", 1_000, "$ per 1,000 products"),
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
    use: local_e2e.FunctionUse, memory_mb: int, settings: EnvironmentSettings, bill: Bill
) -> None:
    """One record's invoke: Lambda, its front door (API Gateway, WAF) or its event source
    (SQS), its logs and its trace."""
    each = price_table().each
    billed_seconds = math.ceil(use.ms_per_record) / 1000  # one record an invoke, 1 ms steps
    bill.usd["Lambda"] += memory_mb / 1024 * billed_seconds * each("lambda_arm64_gb_second")
    bill.usd["Lambda"] += each("lambda_request")
    if use.api_invokes:
        bill.usd["API Gateway"] += each("api_gateway_rest_request")
        if settings.api.waf.enabled:
            bill.usd["WAF"] += each("waf_request")
    else:  # the event source mapping's ReceiveMessage and DeleteMessage, a record a batch
        bill.usd["SQS"] += 2 * each("sqs_request")
    logged = use.log_bytes_per_record / GB
    months = settings.log_retention_days / 30
    bill.usd["CloudWatch Logs"] += logged * each("logs_ingested_gb")
    bill.usd["CloudWatch Logs"] += logged * months * each("logs_stored_gb_month")
    bill.usd["X-Ray"] += XRAY_SAMPLED * each("xray_trace_recorded")


def stage_bill(
    usage: StageUsage, observed: local_e2e.Observed, settings: EnvironmentSettings
) -> Bill:
    """Dollars per webhook (or product) of the stage: its requests per unit times units per
    webhook, plus its function's invokes per record times records per webhook (as measured)."""
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
    compute = Bill()
    _compute(use, getattr(settings.functions, function[0]).memory_mb, settings, compute)
    for service, usd in compute.usd.items():
        bill.usd[service] += usd * use.records / sent
    return bill


def pipeline_section(
    pipeline: str, usages: list[StageUsage], observed: local_e2e.Observed
) -> Section:
    settings = load_settings(environments(), ENV)
    title, scale, unit = PIPELINES[pipeline]
    by_service: dict[str, float] = defaultdict(float)
    unpriced: list[str] = []
    for usage in usages:
        bill = stage_bill(usage, observed, settings)
        for service, usd in bill.usd.items():
            by_service[service] += usd * scale
        unpriced += bill.unpriced
    total = sum(by_service.values())
    target = f"≤ ${TARGET_PER_MILLION_ORDERS:g} per million order webhooks"
    rows = [
        Row(
            name=f"{title}: total, end to end",
            value=total,
            unit=unit,
            target=target if pipeline == "orders" else None,
            meets_target=total <= TARGET_PER_MILLION_ORDERS if pipeline == "orders" else None,
        ),
        *(
            Row(name=f"{title}: {service}", value=usd, unit=unit)
            for service, usd in sorted(by_service.items(), key=lambda kv: -kv[1])
            if usd > 0
        ),
    ]
    stages = ", ".join(f"{u.stage} ({u.units_per_webhook:g} {u.unit})" for u in usages)
    notes = [f"Stages: {stages}."]
    if unpriced:
        notes.append("Not priced: " + "; ".join(sorted(set(unpriced))) + ".")
    return Section(
        key=f"cost_{pipeline}",
        title=f"Cost: {title.lower()} ({ENV})",
        method="Calls and capacity units per unit of work (bench.calls) x the price table; "
        "Lambda GB-s from warm invoke times on the local runtime (bench.local_e2e) at prod's "
        "memory.",
        rows=rows,
        notes=notes,
    )


def _assumptions(prices: PriceTable) -> list[str]:
    return [
        f"Prices: bench/prices.json, {prices.region}, read {prices.date}: {prices.note}",
        "One record per invoke (a trickle of webhooks): each SQS-triggered stage pays a Lambda "
        "request and the mapping's ReceiveMessage + DeleteMessage per record; fuller batches "
        "cost less.",
        "Lambda duration: the warm invoke time per record on this machine (local stand-ins "
        "answer in about 1 ms, so peer latency on AWS adds to it), rounded up to 1 ms, at "
        "prod's memory; cold starts are not included.",
        "CloudWatch Logs: the bytes each function wrote per record locally (the dev log level, "
        "DEBUG: prod logs at INFO, so this is an upper bound), ingested, then stored "
        "uncompressed for the retention (AWS bills storage compressed: an upper bound).",
        f"X-Ray: one trace per traced invoke, {XRAY_SAMPLED:.0%} of them recorded (the default "
        "sampling rule past its 1/s reservoir; at low volume the reservoir records more).",
        "Not included: the free tiers, data transfer, KMS, API access logs and WAF logs, "
        "CloudWatch metrics, alarms and dashboards, monthly fixed fees (WAF web ACL and rules, "
        "Secrets Manager secrets).",
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
    sections = [
        pipeline_section(pipeline, [u for u in usage if u.pipeline == pipeline], observed)
        for pipeline in PIPELINES
        if any(u.pipeline == pipeline for u in usage)
    ]
    if sections:
        first = sections[0]
        sections[0] = first.model_copy(
            update={"notes": [*first.notes, *_assumptions(price_table())]}
        )
    return sections
