"""Fixtures of the local REST API tests: a fake function, and the API started on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.api_gateway import LocalApi
from tests.support.local_api import FakeFunction, start_api


@pytest.fixture
def function() -> FakeFunction:
    return FakeFunction()


@pytest.fixture
def api(function: FakeFunction, tmp_path: Path) -> Iterator[LocalApi]:
    running = start_api(function, tmp_path)
    yield running
    running.stop()
