"""get_settings(): read once per container, validated."""

from __future__ import annotations

import json

import pytest
from pydantic import Field, ValidationError

from shared.event_time import EventTimeWindow
from shared.queues import QueueRef
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


class _Structured(FunctionSettings):
    queues: dict[str, QueueRef]
    window: EventTimeWindow
    delays: tuple[int, ...]
    optional_window: EventTimeWindow | None = None
    label: str = "plain"


def test_structured_settings_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given structured values as the stack writes them: whole JSON documents
    queue = {"url": "u", "arn": "a", "dlq_url": "du", "dlq_arn": "da"}
    monkeypatch.setenv("QUEUES", json.dumps({"download": queue}))
    monkeypatch.setenv("WINDOW", '{"max_future_seconds": 300, "max_age_days": 30}')
    monkeypatch.setenv("DELAYS", "[1, 5, 30]")
    monkeypatch.setenv("LABEL", '{"not": "parsed"}')

    settings = get_settings(_Structured)

    # Then models, dicts, tuples are parsed; strings stay strings; optional defaults apply
    assert settings.queues["download"] == QueueRef(**queue)
    assert settings.window == EventTimeWindow(max_future_seconds=300, max_age_days=30)
    assert settings.delays == (1, 5, 30)
    assert settings.optional_window is None
    assert settings.label == '{"not": "parsed"}'


def test_malformed_json_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUES", "{}")
    monkeypatch.setenv("WINDOW", "{max_age_days: 30}")
    monkeypatch.setenv("DELAYS", "[]")
    with pytest.raises(ValidationError, match='error parsing value for field "window"'):
        get_settings(_Structured)


def test_env_var_names_ignore_case_and_given_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("events_table_NAME", "from-env")
    monkeypatch.setenv("MAX_BODY_BYTES", "10")

    assert _Example.model_validate({}).events_table_name == "from-env"
    given = _Example.model_validate({"events_table_name": "given"})
    assert given.events_table_name == "given"


def test_defaults_are_validated_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a default that breaks its own constraint, Then reading fails instead of using it
    class _Bad(FunctionSettings):
        size: int = Field(default=0, ge=1)

    monkeypatch.delenv("SIZE", raising=False)
    with pytest.raises(ValidationError, match="size"):
        get_settings(_Bad)
