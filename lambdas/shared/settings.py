"""One cached way to read a function's environment variables into a typed, validated model."""

from __future__ import annotations

from functools import cache
from typing import TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict


class FunctionSettings(BaseSettings):
    """Base for each function's settings: env var `FOO_BAR` fills field `foo_bar`. No field has
    a default that stands in for config: the stack sets every variable a function reads, and a
    missing one fails the first invocation loudly instead of running on a guess."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)


class EventsTableSettings(FunctionSettings):
    """For the functions that record, move on or read events (not the catalog's, which track
    their work in the enrichment table)."""

    events_table_name: str


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


@cache
def get_settings(model: type[SettingsT]) -> SettingsT:
    """Read and validate the settings once per container; later calls return the same object."""
    return model()
