"""A stage's retry schedule: the wait after each failed attempt, jitter, SQS's limit."""

from __future__ import annotations

import math
import random

import pytest

from shared.retries import RetrySchedule

SVIX_LIKE = (5, 300, 1800, 7200, 18000, 36000, 36000)
WITHIN_SQS = 43_078  # what the config leaves a consumer of SQS's 12 h visibility limit


def schedule_of(
    delays: tuple[int, ...], jitter_ratio: float = 0.0, **changes: int
) -> RetrySchedule:
    return RetrySchedule(
        delays_seconds=delays,
        jitter_ratio=jitter_ratio,
        max_delay_seconds=changes.get("max_delay_seconds", WITHIN_SQS),
    )


def test_without_jitter_each_failed_attempt_waits_its_scheduled_delay() -> None:
    schedule = schedule_of(SVIX_LIKE)
    assert [schedule.delay(n) for n in range(1, 8)] == list(SVIX_LIKE)
    assert schedule.max_receives == 8


def test_the_final_attempt_is_the_one_after_the_last_delay() -> None:
    schedule = schedule_of((1, 2), jitter_ratio=0.2)
    assert [schedule.is_final(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_a_redriven_message_counted_past_the_schedule_waits_the_last_delay() -> None:
    schedule = schedule_of((1, 2, 4))
    assert schedule.delay(9) == 4


@pytest.mark.parametrize("attempt", range(1, 8))
def test_jitter_adds_up_to_its_ratio_and_spreads_the_waits(attempt: int) -> None:
    schedule = schedule_of(SVIX_LIKE, jitter_ratio=0.2)
    planned = SVIX_LIKE[attempt - 1]
    rng = random.Random(attempt)  # noqa: S311 - seeded, for a repeatable test
    delays = [schedule.delay(attempt, rng) for _ in range(200)]
    assert min(delays) >= planned
    assert max(delays) <= min(math.ceil(planned * 1.2), schedule.max_delay_seconds)
    if planned >= 10:
        assert len(set(delays)) > 1


def test_no_wait_is_longer_than_sqs_accepts_for_the_consumer() -> None:
    schedule = schedule_of((36000,), jitter_ratio=1.0, max_delay_seconds=43078)
    rng = random.Random(7)  # noqa: S311 - seeded, for a repeatable test
    assert max(schedule.delay(1, rng) for _ in range(100)) == 43078


def test_no_delays_means_one_attempt_only() -> None:
    schedule = schedule_of(())
    assert schedule.max_receives == 1
    assert schedule.is_final(1)


def test_attempt_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt starts at 1"):
        schedule_of((1, 2)).delay(0)


def test_a_schedule_without_its_config_is_refused() -> None:
    # The worker reads RETRY_SCHEDULE whole, as the stack writes it: nothing is guessed.
    with pytest.raises(ValueError, match="jitter_ratio"):
        RetrySchedule.model_validate({"delays_seconds": [1, 2], "max_delay_seconds": 60})
