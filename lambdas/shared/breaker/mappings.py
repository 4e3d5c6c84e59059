"""Pausing and resuming a stage's SQS event source mappings (Lambda UpdateEventSourceMapping).

A worker cannot be told its own mapping's UUID (the mapping refers to the function: naming it in
the function's environment would be a dependency cycle), so it lists the mappings of its own
function and source queue; the probe is told the UUIDs it resumes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import boto3

from shared.aws_clients import BOTO_CONFIG


@lru_cache(maxsize=1)
def lambda_client() -> Any:
    return boto3.client("lambda", config=BOTO_CONFIG)


class MappingSwitch:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or lambda_client()

    def mappings_of(self, function_name: str, source_arn: str) -> list[str]:
        """The UUIDs of `function_name`'s mappings that poll `source_arn`."""
        pages = self.client.get_paginator("list_event_source_mappings").paginate(
            FunctionName=function_name, EventSourceArn=source_arn
        )
        return [m["UUID"] for page in pages for m in page.get("EventSourceMappings", [])]

    def set_enabled(self, mapping_ids: Iterable[str], *, enabled: bool) -> list[str]:
        """Enable or disable each mapping that is not already so; the UUIDs it changed."""
        changed = []
        for uuid in mapping_ids:
            if self.is_enabled(uuid) is enabled:
                continue
            self.client.update_event_source_mapping(UUID=uuid, Enabled=enabled)
            changed.append(uuid)
        return changed

    def is_enabled(self, mapping_id: str) -> bool:
        """Enabled, or on its way there (Lambda answers Enabling/Updating for a while)."""
        state = self.client.get_event_source_mapping(UUID=mapping_id)["State"]
        return str(state) in ("Enabled", "Enabling", "Creating", "Updating")

    def states(self, mapping_ids: Iterable[str]) -> dict[str, str]:
        return {
            uuid: str(self.client.get_event_source_mapping(UUID=uuid)["State"])
            for uuid in mapping_ids
        }
