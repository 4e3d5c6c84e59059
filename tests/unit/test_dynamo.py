"""The DynamoDB conventions every store follows: conditional writes, the three time formats (each
kept as stored values and keys have them), and numbers in and out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from shared.dynamo import (
    as_sent,
    epoch_millis,
    expires_at,
    if_condition_holds,
    instant,
    iso_time,
    json_number,
    old_item,
    plain,
    stored,
)

EAST = timezone(timedelta(hours=-5))
MOMENT = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=EAST)


def _refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "UpdateItem")


def test_a_write_whose_condition_holds_returns_its_response() -> None:
    assert if_condition_holds(lambda: {"Attributes": {}}) == {"Attributes": {}}


def test_a_write_whose_condition_fails_is_none() -> None:
    def write() -> dict[str, object]:
        raise _refused("ConditionalCheckFailedException")

    assert if_condition_holds(write) is None


def test_any_other_refusal_raises() -> None:
    def write() -> dict[str, object]:
        raise _refused("ProvisionedThroughputExceededException")

    with pytest.raises(ClientError):
        if_condition_holds(write)


def test_status_times_are_utc_milliseconds_with_z() -> None:
    assert iso_time(MOMENT) == "2026-03-04T10:06:07.891Z"


def test_erp_source_times_are_utc_microseconds_with_z_fixed_width() -> None:
    assert instant(MOMENT) == "2026-03-04T10:06:07.891234Z"
    assert instant(MOMENT.replace(microsecond=0)) == "2026-03-04T10:06:07.000000Z"


def test_a_senders_time_is_kept_as_it_was_sent() -> None:
    assert as_sent(MOMENT) == "2026-03-04T05:06:07.891234-05:00"


def test_ttl_attributes_are_epoch_seconds_from_their_start() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert expires_at(timedelta(days=1), start=start) == int(start.timestamp()) + 86_400


def test_numbers_come_back_as_int_or_float_and_go_in_as_decimal() -> None:
    read = {"n": Decimal("3"), "x": [Decimal("1.5"), {"y": Decimal("-2")}], "s": "t"}
    assert plain(read) == {"n": 3, "x": [1.5, {"y": -2}], "s": "t"}
    assert stored({"n": 3, "x": 1.5}) == {"n": 3, "x": Decimal("1.5")}


def test_json_writes_table_numbers_and_refuses_anything_else() -> None:
    assert json_number(Decimal("2.0")) == 2
    with pytest.raises(TypeError, match="not JSON"):
        json_number(object())


def test_a_refused_write_gives_the_item_it_found_in_the_resource_apis_types() -> None:
    # Given a conditional write refused with ReturnValuesOnConditionCheckFailure=ALL_OLD
    refused = ClientError(
        {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "no"},
            "Item": {"event_id": {"S": "e-1"}, "held_until": {"N": "17"}, "ok": {"BOOL": True}},
        },  # type: ignore[typeddict-unknown-key]
        "PutItem",
    )

    # Then the item it found reads as the resource API would have returned it
    assert old_item(refused) == {"event_id": "e-1", "held_until": Decimal(17), "ok": True}


def test_a_refused_write_without_the_item_found_is_empty() -> None:
    assert old_item(_refused("ConditionalCheckFailedException")) == {}


def test_epoch_millis_counts_milliseconds_of_the_utc_clock() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    assert epoch_millis() >= before
