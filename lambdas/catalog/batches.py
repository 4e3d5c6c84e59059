"""Splitting a catalog's products into the batches the worker enriches one message at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def batch_id(index: int) -> str:
    """Sortable within a tracking id: b00001, b00002, ... (at most 2,000 batches)."""
    return f"b{index + 1:05d}"


def split(items: Sequence[T], size: int) -> list[list[T]]:
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [list(items[start : start + size]) for start in range(0, len(items), size)]
