"""The DynamoDB secondary indexes, by name and keys: the data stores construct creates them from
these and the stores query them by these names. Standard library only: infra imports it too."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str


# The events table: every pipeline's events by status, and by pipeline, oldest first.
EVENTS_BY_STATUS = Index("by-status", partition_key="status", sort_key="received_at")
EVENTS_BY_PIPELINE = Index("by-pipeline", partition_key="pipeline", sort_key="received_at")
# The enrichment table: only summaries carry `created_at`, so it lists enrichments, not batches.
ENRICHMENTS_BY_USER = Index("by-user", partition_key="user_id", sort_key="created_at")
