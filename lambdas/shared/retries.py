"""A stage's retry schedule: how long a failed message waits before each next attempt (the
delay becomes the message's visibility timeout) and how many receives it gets in all.

The infra config builds and validates the schedule per stage and hands it to the worker as its
`RETRY_SCHEDULE` environment variable; the worker only reads it.
"""

from __future__ import annotations

import math
import random

from pydantic import BaseModel, ConfigDict, Field

SQS_MAX_VISIBILITY_SECONDS = 43_200


class RetrySchedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The wait after failed attempt n is delays_seconds[n - 1]; one attempt more than delays.
    delays_seconds: tuple[int, ...]
    # Up to this share is added at random: spreads the retries of a burst that failed together.
    jitter_ratio: float = Field(ge=0, le=1)
    # ChangeMessageVisibility may not reach past 12 h after the receive, and the attempt itself
    # already used part of that: the config computes what is left for this stage's consumer.
    max_delay_seconds: int = Field(ge=0, le=SQS_MAX_VISIBILITY_SECONDS)

    @property
    def max_receives(self) -> int:
        """The queue's maxReceiveCount: the first attempt and one per delay."""
        return len(self.delays_seconds) + 1

    def is_final(self, attempt: int) -> bool:
        return attempt >= self.max_receives

    def delay(self, attempt: int, rng: random.Random | None = None) -> int:
        """Seconds to wait after failed attempt `attempt` (1-based), jittered, within SQS's
        visibility limit. Past the schedule (a redriven message counts again) the last wait."""
        if attempt < 1:
            raise ValueError("attempt starts at 1")
        if not self.delays_seconds:
            return 0
        planned = self.delays_seconds[min(attempt, len(self.delays_seconds)) - 1]
        jitter = (rng or random).uniform(0, self.jitter_ratio * planned)
        return int(min(math.ceil(planned + jitter), self.max_delay_seconds))
