"""shared.strict_json: RFC 8259 JSON with bounds, each refusal with a reason."""

from __future__ import annotations

import pytest

from shared.strict_json import MAX_DEPTH, StrictJsonError, loads


def test_ordinary_json_parses_as_the_standard_library_would() -> None:
    assert loads(b'{"a": [1, 2.5, "x", true, null], "b": {"c": -3e2}}') == {
        "a": [1, 2.5, "x", True, None],
        "b": {"c": -300.0},
    }


def test_nesting_up_to_the_bound_parses_and_one_level_more_is_refused() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(StrictJsonError) as refused:
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert refused.value.reason == "too_deep"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("NaN", "non_finite"),
        ("[Infinity]", "non_finite"),
        ('{"n": -Infinity}', "non_finite"),
        ("1" * 41, "number_too_long"),
        ("1e126", "number_out_of_range"),
        ("1e-131", "number_out_of_range"),
        ("123456789012345678901234567890123456789", "number_out_of_range"),  # 39 digits
        ('{"a": 1, "a": 2}', "duplicate_key"),
        ('"\\udc00"', "invalid_string"),
        ('{"\\ud800": 1}', "invalid_string"),
        ("{'a': 1}", "not_json"),
        (b"\xff\xfe", "not_json"),
        ("", "not_json"),
    ],
)
def test_what_is_refused_and_why(text: str | bytes, reason: str) -> None:
    with pytest.raises(StrictJsonError) as refused:
        loads(text)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "text", ["1e125", "1e-130", "12345678901234567890123456789012345678", "0", "-0.0", "0e-999"]
)
def test_numbers_dynamodb_can_store_are_accepted(text: str) -> None:
    loads(text)
