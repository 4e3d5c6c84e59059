"""What the design fixes per order webhook before any compute, and what a user could change to
go below it, each priced with the same table as `bench.cost`."""

from __future__ import annotations

import math

from bench.model import StageUsage
from bench.prices import PriceTable

KB = 1024
GB = 1024**3
# The parts of an order webhook the design cannot do without: the API behind WAF (so a REST
# API: HTTP APIs take no web ACL), its inspection, and the raw payload the mission stores in
# S3, put once by the download and read once by the processing.
FLOOR_PARTS = ("api_gateway_rest_request", "waf_request", "s3_put_request", "s3_get_request")
FLOOR_NAME = "the design's fixed part: REST API request + WAF request + S3 PUT + S3 GET"


def floor_per_webhook(prices: PriceTable) -> float:
    return sum(prices.each(part) for part in FLOOR_PARTS)


def payload_bytes(usages: list[StageUsage]) -> float:
    """The raw payload's size per webhook, as the stages put it to S3 (bench.calls)."""
    return sum(u.s3_bytes_stored * u.units_per_webhook for u in usages)


def http_api_saving(prices: PriceTable) -> float:
    """An HTTP API without WAF in place of the REST API behind WAF, per webhook."""
    each = prices.each
    return each("api_gateway_rest_request") + each("waf_request") - each("api_gateway_http_request")


def dynamodb_payload_saving(prices: PriceTable, size: float) -> float:
    """The payload kept on the event's item instead of S3: the PUT, the GET and S3's month of
    storage saved; paid for with the write units the bytes add to the item's write (1 KB each),
    a strongly consistent read of them (4 KB a unit) and DynamoDB's month of storage."""
    each = prices.each
    s3 = each("s3_put_request") + each("s3_get_request") + size / GB * each("s3_storage_gb_month")
    dynamodb = (
        math.ceil(size / KB) * each("dynamodb_write_request_unit")
        + math.ceil(size / (4 * KB)) * each("dynamodb_read_request_unit")
        + size / GB * each("dynamodb_storage_gb_month")
    )
    return s3 - dynamodb


def floor_notes(
    total: float,
    by_service: dict[str, float],
    usages: list[StageUsage],
    prices: PriceTable,
    target: float,
    kept_months: float,
) -> list[str]:
    """Per 1M order webhooks: the floor, whether the target fits above it, and the changes."""
    million = 1_000_000
    floor = floor_per_webhook(prices) * million
    size = payload_bytes(usages)
    http = http_api_saving(prices) * million
    dynamo = dynamodb_payload_saving(prices, size) * million
    xray = by_service.get("X-Ray", 0.0)
    extra = prices.each("dynamodb_storage_gb_month") - prices.each("s3_storage_gb_month")
    kept = size / GB * extra * (kept_months - 1) * million  # past the first month
    parts = " + ".join(f"{p} ${prices.each(p) * million:.2f}" for p in FLOOR_PARTS)
    least = (prices.each("dynamodb_write_request_unit") + prices.each("sqs_request")) * million
    verdict = "cannot hold" if floor + least > target else "can hold, barely,"
    return [
        f"Floor: ${floor:.2f} per 1M order webhooks is fixed by the design before any compute "
        f"({parts}). Above it ≤ ${target:g} leaves ${target - floor:.2f} for everything else; "
        f"one DynamoDB write unit and one SQS message per webhook alone take ${least:.2f}: "
        f"≤ ${target:g} {verdict} with these fixed parts.",
        f"What a user could change (each against today's ${total:.2f}): an HTTP API without "
        f"WAF instead of the REST API behind WAF saves ${http:.2f} (→ ${total - http:.2f}); the "
        f"raw payload ({size:,.0f} bytes measured) kept on the event's DynamoDB item instead of "
        f"S3 saves ${dynamo:.2f} (→ ${total - dynamo:.2f}; DynamoDB items stop at 400 KB, so "
        f"only when small; its storage, ~11x S3's, costs ${kept:.2f} more over the rest of "
        f"the events' {kept_months:.0f}-month TTL); both "
        f"→ ${total - http - dynamo:.2f}; tracing off (or a sampling rule without the "
        f"reservoir) saves up to the X-Ray line, ${xray:.2f}.",
    ]
