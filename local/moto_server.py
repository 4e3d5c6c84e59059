"""moto server as a child process on a free loopback port, dying with the runtime."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the runtime dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    def __init__(self, log_file: Path) -> None:
        """Started and answering when this returns."""
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        with open(log_file, "ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - moto's own server module
                [sys.executable, "-m", "local.moto_extensions", "-H", "127.0.0.1", "-p", str(port)],
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
                # Out of the terminal's process group: Ctrl-C must not stop moto before the
                # pollers; the runtime stops it last (and the kernel does if the runtime dies).
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not start on {self.endpoint}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
