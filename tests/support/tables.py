"""The pipeline's tables as the functions under test see them: named by the environment the
`pipeline` fixture gave them (the physical names of the synthesized template's tables)."""

from __future__ import annotations

import os
from typing import Any

import boto3

from tests.support.aws import REGION


def _table(variable: str) -> Any:
    return boto3.resource("dynamodb", region_name=REGION).Table(os.environ[variable])


def events() -> Any:
    return _table("EVENTS_TABLE_NAME")


def idempotency() -> Any:
    return _table("IDEMPOTENCY_TABLE_NAME")


def entities() -> Any:
    return _table("ENTITIES_TABLE_NAME")


def enrichments() -> Any:
    return _table("ENRICHMENT_TABLE_NAME")


def products() -> Any:
    return _table("PRODUCTS_TABLE_NAME")


def all_events() -> list[dict[str, Any]]:
    """Every item of the events table (one scan page: a test stores a few)."""
    return list(events().scan()["Items"])
