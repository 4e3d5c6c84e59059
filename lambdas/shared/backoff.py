"""Exponential backoff with jitter, for SQS-driven retries (the delay becomes the message's
visibility timeout)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

SQS_MAX_VISIBILITY_SECONDS = 43_200


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 1.0
    cap_seconds: float = 60.0
    jitter_ratio: float = 0.2  # up to +20 %: spreads retries of a burst that failed together

    def delay(self, attempt: int, rng: random.Random | None = None) -> int:
        """Seconds before retry `attempt` (1 = after the first failure):
        min(base * 2**(attempt - 1), cap) plus jitter in [0, jitter_ratio * that], rounded up,
        within SQS's visibility limit."""
        if attempt < 1:
            raise ValueError("attempt starts at 1")
        exponent = min(attempt - 1, 62)  # 2**62 already exceeds any cap
        planned = min(self.base_seconds * 2**exponent, self.cap_seconds)
        jitter = (rng or random).uniform(0, self.jitter_ratio * planned)
        return int(min(math.ceil(planned + jitter), SQS_MAX_VISIBILITY_SECONDS))
