"""One cached way to read a function's environment variables into a typed, validated model.

A plain pydantic model filled from `os.environ`, not pydantic-settings: that package costs a
cold start ~120 ms of imports (dotenv, its many sources) for the one source used here. What it
did for us is kept: env var `FOO_BAR` (any case) fills field `foo_bar`, values given to the
constructor win over the environment, defaults are validated, and a field whose type is
structured (a model, a dict, a list, a tuple or a union with one) is read as JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence, Set
from dataclasses import is_dataclass
from functools import cache
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator


def _is_structured(annotation: Any) -> bool:
    """Whether an env value for this type is JSON (pydantic-settings' "complex" fields)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_structured(get_args(annotation)[0])
    if origin is Union or origin is UnionType:
        return any(_is_structured(member) for member in get_args(annotation))
    kind = origin or annotation
    if not isinstance(kind, type) or issubclass(kind, str | bytes):
        return False
    return issubclass(kind, BaseModel | Mapping | Sequence | Set) or is_dataclass(kind)


def _from_environment(model: type[BaseModel]) -> dict[str, Any]:
    environment = {name.lower(): value for name, value in os.environ.items()}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        raw = environment.get(name.lower())
        if raw is None:
            continue
        if not _is_structured(field.annotation):
            values[name] = raw
            continue
        try:
            values[name] = json.loads(raw)
        except ValueError as error:
            # pydantic-settings' wording, raised inside validation: a ValidationError naming it.
            message = f'error parsing value for field "{name}" from source "EnvSettingsSource"'
            raise ValueError(message) from error
    return values


class FunctionSettings(BaseModel):
    """Base for each function's settings: env var `FOO_BAR` fills field `foo_bar`. No field has
    a default that stands in for config: the stack sets every variable a function reads, and a
    missing one fails the first invocation loudly instead of running on a guess."""

    # defer_build: a function defines several settings classes on its import path (its base
    # classes, other stages') and validates one; each builds its validator when first used.
    model_config = ConfigDict(frozen=True, extra="ignore", validate_default=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _read_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_from_environment(cls), **data}


class EventsTableSettings(FunctionSettings):
    """For the functions that record, move on or read events (not the catalog's, which track
    their work in the enrichment table)."""

    events_table_name: str


SettingsT = TypeVar("SettingsT", bound=FunctionSettings)


@cache
def get_settings(model: type[SettingsT]) -> SettingsT:
    """Read and validate the settings once per container; later calls return the same object."""
    return model.model_validate({})
