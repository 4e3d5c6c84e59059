"""The breaker's peers, settings and metric names: one definition for infra and functions.

A guarded worker reads `GuardedStages` from its `CIRCUIT_BREAKER` environment variable
and the probe its targets from `BREAKER_TARGETS`; infra writes both from the env's
`circuit_breaker` entry in cdk.json (`BreakerSettings`). pydantic and the standard library only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Peer(StrEnum):
    """A downstream peer, by the stage that calls it."""

    MARKETPLACE_API = "marketplace_api"  # the download stage
    INTERNAL_API = "internal_api"  # the processing stage
    PROVIDER = "provider"  # the enrichment stage


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"


PEER_DIMENSION = "peer"


class BreakerThresholds(BaseModel):
    """When a stage's breaker opens, and how parked records wait."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Peer failures (each already after the HTTP client's own retries) in one window that open
    # the breaker. Counted across every concurrent invocation of the stage.
    failure_threshold: int = Field(ge=1, le=10_000)
    window_seconds: int = Field(ge=10, le=3600)
    # A record whose peer failed while the breaker is open goes back to its queue as a new
    # message (its receives start again), invisible this long: the mapping is paused by then.
    park_delay_seconds: int = Field(ge=0, le=900)


class PeerProbe(BaseModel):
    """What the probe asks a peer: a request on its base URL + `path` that has no effect (a
    POST goes without its required key and body). Any answer but a 5xx or a 429 (a 400, a 401
    or a 404 included) says the peer is up again: it answers, which is all the stage needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["GET", "POST"]
    path: str = Field(pattern=r"^/[^?#\s]*$")


class BreakerSettings(BreakerThresholds):
    """The `circuit_breaker` entry of an env in cdk.json."""

    probe_every_minutes: int = Field(ge=1, le=60)
    probe_timeout_seconds: float = Field(gt=0, le=10)
    probes: dict[Peer, PeerProbe] = Field(min_length=len(Peer))


class GuardedStages(BreakerThresholds):
    """What the guarded workers know of their breakers (`CIRCUIT_BREAKER`, the same for each):
    the table, the thresholds, and which stage (by name) calls which peer."""

    table_name: str = Field(min_length=3)
    stages: dict[str, Peer] = Field(min_length=1)


class ProbeTarget(BaseModel):
    """One peer as the probe checks it (`BREAKER_TARGETS`): its URL, and the stage's function
    and source queues, whose mappings it pauses and resumes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    peer: Peer
    method: Literal["GET", "POST"]
    url: str = Field(min_length=8)
    function_name: str = Field(min_length=1)
    source_arns: tuple[str, ...] = Field(min_length=1)
