"""The local runtime (`python -m local run`) as the system under test: started once for the
package in its own state dir, found through its runtime.json, always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 120


@pytest.fixture(scope="package")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state_dir = tmp_path_factory.mktemp("local-runtime")
    output = open(state_dir / "runtime.out", "wb")  # noqa: SIM115 - closed in teardown
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    process = subprocess.Popen(  # noqa: S603 - our own module
        # Schedules tick every 2s instead of minutes, so the sweeper's runs can be seen.
        [
            sys.executable,
            "-m",
            "local",
            "run",
            "--state-dir",
            str(state_dir),
            "--schedule-every",
            "2",
        ],
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
        env=environment,
        start_new_session=True,
    )
    state_file = state_dir / "runtime.json"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not state_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the local runtime did not start:\n"
                    + (state_dir / "runtime.out").read_text()[-3000:]
                )
            time.sleep(0.2)
        state = json.loads(state_file.read_text())
        state["state_file"] = str(state_file)
        yield state
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        output.close()
