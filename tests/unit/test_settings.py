"""get_settings(): read once per container, validated."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.settings import EventsTableSettings, FunctionSettings, get_settings


class _Example(EventsTableSettings):
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


def test_a_function_that_tracks_no_events_needs_no_events_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a function's settings without the events table (the catalog's functions)
    class _Catalog(FunctionSettings):
        max_body_bytes: int

    monkeypatch.delenv("EVENTS_TABLE_NAME", raising=False)
    monkeypatch.setenv("MAX_BODY_BYTES", "1024")

    # Then they read without it, and have no such field to fall back on
    settings = get_settings(_Catalog)
    assert settings.max_body_bytes == 1024
    assert not hasattr(settings, "events_table_name")
