"""The jurisdiction mapping: 54 entries, codes and names, any case."""

from __future__ import annotations

import pytest

from orders.jurisdictions import JURISDICTIONS, UnknownJurisdictionError, resolve_jurisdiction

CODES = [j.code for j in JURISDICTIONS]


def test_there_are_54_distinct_jurisdictions_including_dc_and_territories() -> None:
    assert len(JURISDICTIONS) == 54
    assert len(set(CODES)) == 54
    assert {"DC", "PR", "GU", "VI"} <= set(CODES)


@pytest.mark.parametrize("jurisdiction", JURISDICTIONS, ids=CODES)
def test_each_resolves_by_code_and_by_name_in_any_case(jurisdiction: object) -> None:
    code, name = jurisdiction.code, jurisdiction.name  # type: ignore[attr-defined]
    for spelling in (code, code.lower(), name, name.lower(), name.upper(), f"  {name.title()} "):
        assert resolve_jurisdiction(spelling) == jurisdiction, spelling


@pytest.mark.parametrize(
    ("alias", "code"), [("Washington DC", "DC"), ("virgin islands", "VI"), ("NEW  YORK", "NY")]
)
def test_common_alternative_spellings_resolve(alias: str, code: str) -> None:
    assert resolve_jurisdiction(alias).code == code


@pytest.mark.parametrize("value", ["Atlantis", "XX", "", "Ontario", "Tex"])
def test_an_unknown_value_raises_naming_it(value: str) -> None:
    with pytest.raises(UnknownJurisdictionError) as caught:
        resolve_jurisdiction(value)
    assert repr(value) in str(caught.value)
    assert caught.value.value == value
