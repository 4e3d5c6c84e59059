"""The local runtime (`python -m local run`) as the system under test: started once for the
package in its own state dir, on the session's synthesized template, found through its
runtime.json, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.launch import RuntimeProcess


@pytest.fixture(scope="package")
def runtime(tmp_path_factory: pytest.TempPathFactory, cdk_out: Path) -> Iterator[dict[str, Any]]:
    # Schedules tick every 2s instead of minutes, so the sweeper's runs can be seen.
    local = RuntimeProcess(
        tmp_path_factory.mktemp("local-runtime"),
        *("--cdk-out", str(cdk_out), "--schedule-every", "2"),
    )
    try:
        state = local.state()
        state["state_file"] = str(local.state_file)
        yield state
    finally:
        local.stop()
