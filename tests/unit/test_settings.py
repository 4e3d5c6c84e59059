"""get_settings(): read once per container, validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import FunctionSettings, get_settings


class _Example(FunctionSettings):
    max_body_bytes: int


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    get_settings.cache_clear()


def test_settings_are_read_from_env_vars_and_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_TABLE_NAME", "events-a")
    monkeypatch.setenv("MAX_BODY_BYTES", "1024")
    first = get_settings(_Example)
    monkeypatch.setenv("EVENTS_TABLE_NAME", "events-b")

    assert first.events_table_name == "events-a"
    assert first.max_body_bytes == 1024
    assert get_settings(_Example) is first


def test_a_missing_or_malformed_setting_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_TABLE_NAME", "events")
    monkeypatch.setenv("MAX_BODY_BYTES", "lots")
    with pytest.raises(ValidationError, match="max_body_bytes"):
        get_settings(_Example)
