"""Waiting for something to become true, rather than sleeping and hoping it did."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T],
    until: Callable[[T], object],
    *,
    what: str,
    timeout: float,
    interval: float = 0.25,
) -> T:
    """Call `probe` until `until(value)` holds and return that value. After `timeout` seconds
    the test fails, saying what it waited for and what it saw last."""
    deadline = time.monotonic() + timeout
    while True:
        seen = probe()
        if until(seen):
            return seen
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:g}s for {what}; last seen: {seen!r}"[:4000])
        time.sleep(interval)
