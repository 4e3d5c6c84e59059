"""Outbound HTTP settings: the `http` entry of each env in cdk.json (validated at synth) and the
HTTP_CLIENT env var a worker reads (the stack writes it from that entry): one model for both.
pydantic only: infra imports it too."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HttpClientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_seconds: float = Field(gt=0, le=30)
    read_timeout_seconds: float = Field(gt=0, le=120)
    max_retries: int = Field(ge=0, le=10)
    backoff_factor_seconds: float = Field(ge=0, le=10)
    # How long a peer's Retry-After may make a worker sleep: the cap, not the peer, decides.
    max_retry_after_seconds: float = Field(ge=0, le=60)
    pool_size: int = Field(ge=1, le=100, description="connections, and records run at once")

    @property
    def worst_case_call_seconds(self) -> float:
        """The longest one call can take: every attempt timing out, every pause at its maximum
        (urllib3 backs off factor * 2 ** (n - 1); a Retry-After is capped)."""
        attempts = self.max_retries + 1
        longest_backoff = self.backoff_factor_seconds * float(2 ** max(0, self.max_retries - 1))
        pause = max(self.max_retry_after_seconds, longest_backoff)
        per_attempt = self.connect_timeout_seconds + self.read_timeout_seconds
        return attempts * per_attempt + self.max_retries * pause
