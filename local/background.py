"""A daemon thread that loops until stopped: the pollers and schedules the runtime keeps."""

from __future__ import annotations

import threading


class BackgroundLoop:
    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to stop without waiting (`stop` waits): to stop many at once."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        raise NotImplementedError
