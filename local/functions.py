"""The parent side of each function's execution environment: invoke, detect crashes, restart."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from local.function_host import FunctionSpec, serve

STARTUP_SECONDS = 60


class InvocationError(Exception):
    """The invoke did not return a result: `kind` is `error`, `crash` or `timeout`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class FunctionWorker:
    """One function, one process at a time; invokes are serialised like one Lambda instance."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.restarts = 0
        self.invocations = 0
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=serve, args=(child, self.spec), name=f"lambda:{self.spec.name}", daemon=True
        )
        process.start()
        child.close()
        if not parent.poll(STARTUP_SECONDS):
            process.kill()
            raise RuntimeError(f"{self.spec.name} did not start in {STARTUP_SECONDS}s")
        status, detail = parent.recv()
        if status != "ready":
            process.join(5)
            raise RuntimeError(f"{self.spec.name} failed to initialise:\n{detail}")
        self._process, self._connection = process, parent

    def ensure_running(self) -> bool:
        """Restart the process if it died while idle; True when it did."""
        with self._lock:
            if self._process is not None and self._process.is_alive():
                return False
            self._restart()
            return True

    def stop(self) -> None:
        with self._lock:
            self._stop_process()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if self._process is None or not self._process.is_alive() or not self._connection:
                self._restart()
            if self._connection is None:
                raise InvocationError("crash", "the execution environment is not running")
            self.invocations += 1
            deadline = time.time() + self.spec.timeout_seconds
            try:
                self._connection.send((event, deadline))
                answered = self._connection.poll(self.spec.timeout_seconds + 1)
                if not answered:
                    self._restart()
                    raise InvocationError("timeout", f"no answer in {self.spec.timeout_seconds}s")
                status, payload = self._connection.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                code = self._process.exitcode if self._process else None
                self._restart()
                raise InvocationError("crash", f"process exited ({code})") from exc
            if status == "error":
                raise InvocationError("error", f"{payload['errorType']}: {payload['errorMessage']}")
            return payload

    def _restart(self) -> None:
        self._stop_process()
        self.restarts += 1
        self.start()

    def _stop_process(self) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            with contextlib.suppress(OSError, BrokenPipeError):
                connection.send(None)
            connection.close()
        if process is not None:
            process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)
