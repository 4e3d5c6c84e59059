"""Start `python -m local run` as a child process and stop it: for `make fuzz` and the e2e tests,
which drive a runtime of their own, in a state dir of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_SECONDS = 120


class RuntimeProcess:
    def __init__(self, state_dir: Path, *args: str) -> None:
        """Started and ready (its runtime.json written) when this returns; raises with the end
        of its output when it does not start within START_SECONDS."""
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_file = state_dir / "runtime.json"
        self.state_file.unlink(missing_ok=True)
        self._output = open(state_dir / "runtime.out", "wb")  # noqa: SIM115 - closed in stop()
        # The runtime sets its own AWS and Powertools environment for each function.
        environment = {
            k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))
        }
        self.process = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "local", "run", "--state-dir", str(state_dir), *args],
            cwd=ROOT,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_SECONDS
        while not self.state_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                output = (state_dir / "runtime.out").read_text()[-3000:]
                raise RuntimeError(f"the local runtime did not start:\n{output}")
            time.sleep(0.2)

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def stop(self) -> None:
        """Ctrl-C, as a user would stop it; killed with its whole session if that hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._output.close()
