"""The parent side of each function's execution environments: a pool of processes, as Lambda
runs a function in as many execution environments as it has invokes in flight.

Each environment is one process serving one invoke at a time. A pool starts with one
environment (started with the runtime) and starts another (a cold start) when an invoke finds
every environment busy, up to its size; past that, invokes wait for a free one. Invokes go to
the free environment that started first, so a quiet function keeps using its first process.
A crash or a timeout fails that invoke and restarts that environment's process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any

from local.function_host import FunctionSpec, serve

STARTUP_SECONDS = 60
STOP_GRACE_SECONDS = 5.0
log = logging.getLogger("local.functions")


class InvocationError(Exception):
    """The invoke did not return a result: `kind` is `error`, `crash` or `timeout`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def pool_size(*, reserved: int | None, source_concurrency: list[int | None], cap: int) -> int:
    """How many execution environments a function may have locally.

    Behind SQS event sources: the sum of their `ScalingConfig.MaximumConcurrency` (a source
    without one scales freely: `cap`), within the function's reserved concurrency when it has
    one. Otherwise (API, schedules): its reserved concurrency, or `cap`. Always at most `cap`
    (the local maximum, so a laptop is not overrun) and at least 1.
    """
    if source_concurrency:
        wanted = sum(c if c else cap for c in source_concurrency)
        if reserved is not None:
            wanted = min(wanted, reserved)
    else:
        wanted = reserved if reserved is not None else cap
    return max(1, min(wanted, cap))


class ExecutionEnvironment:
    """One process. Its pool gives it one invoke at a time."""

    def __init__(self, spec: FunctionSpec, context: SpawnContext) -> None:
        self.spec = spec
        self.restarts = 0
        self._context = context
        self._lock = threading.Lock()  # process state; never held during an invoke
        self._closed = False
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process else None

    @property
    def alive(self) -> bool:
        process = self._process
        return process is not None and process.is_alive()

    def start(self) -> None:
        with self._lock:
            self._start()

    def restart(self, *, kill: bool = False) -> None:
        """A new process; `kill`: without letting the old one finish (a timed-out invoke)."""
        with self._lock:
            self._stop_process(kill=kill)
            if self._closed:
                return
            self.restarts += 1
            self._start()

    def stop(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_process()

    def invoke(self, event: dict[str, Any]) -> Any:
        if not self.alive or self._connection is None:
            self._restart_for_invoke()
        connection = self._connection
        if connection is None:
            raise InvocationError("crash", "the execution environment is not running")
        deadline = time.time() + self.spec.timeout_seconds
        try:
            connection.send((event, deadline))
            answered = connection.poll(self.spec.timeout_seconds + 1)
            if not answered:
                self._restart_for_invoke(kill=True)
                raise InvocationError("timeout", f"no answer in {self.spec.timeout_seconds}s")
            status, payload = connection.recv()
        except (EOFError, OSError) as exc:
            process = self._process
            code = process.exitcode if process else None
            self._restart_for_invoke()
            raise InvocationError("crash", f"process exited ({code})") from exc
        if status == "error":
            raise InvocationError("error", f"{payload['errorType']}: {payload['errorMessage']}")
        return payload

    def _restart_for_invoke(self, *, kill: bool = False) -> None:
        try:
            self.restart(kill=kill)
        except RuntimeError as exc:
            raise InvocationError("crash", str(exc)) from exc

    def _start(self) -> None:
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

    def _stop_process(self, *, kill: bool = False) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if kill and process is not None:
            process.kill()
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.send(None)
            connection.close()
        if process is not None:
            process.join(2)
            if process.is_alive():
                process.kill()
                process.join(2)


class FunctionPool:
    """One function: up to `size` execution environments, one invoke in each at a time."""

    def __init__(self, spec: FunctionSpec, size: int = 1) -> None:
        self.spec = spec
        self.size = max(1, size)
        self.invocations = 0
        self.max_in_flight = 0  # the most invokes it ever ran at once
        self._context = multiprocessing.get_context("spawn")
        self._environments: list[ExecutionEnvironment] = []  # in the order they started
        self._idle: list[ExecutionEnvironment] = []
        self._in_flight = 0
        self._closed = False
        self._changed = threading.Condition()

    @property
    def pids(self) -> list[int]:
        with self._changed:
            environments = list(self._environments)
        return [pid for pid in (e.pid for e in environments) if pid is not None]

    @property
    def pid(self) -> int | None:
        """The first environment's process (the one a quiet function uses)."""
        with self._changed:
            first = self._environments[0] if self._environments else None
        return first.pid if first else None

    @property
    def restarts(self) -> int:
        with self._changed:
            return sum(e.restarts for e in self._environments)

    def start(self) -> None:
        """Start the first environment (a failure to initialise raises RuntimeError)."""
        environment = ExecutionEnvironment(self.spec, self._context)
        environment.start()
        with self._changed:
            self._environments.append(environment)
            self._idle.append(environment)
            self._changed.notify()

    def invoke(self, event: dict[str, Any]) -> Any:
        environment = self._acquire()
        try:
            return environment.invoke(event)
        finally:
            self._release(environment)

    def ensure_running(self) -> bool:
        """Restart the processes that died while idle; True when one was."""
        with self._changed:
            if self._closed:
                return False
            dead = [e for e in self._idle if not e.alive]
            for environment in dead:
                self._idle.remove(environment)
        restarted = False
        for environment in dead:
            try:
                environment.restart()
                restarted = True
            except RuntimeError:
                log.exception("%s: could not restart an execution environment", self.spec.name)
            finally:
                with self._changed:
                    self._idle.append(environment)
                    self._changed.notify()
        return restarted

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Refuse new invokes, let running ones finish for `grace_seconds`, stop every process."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            deadline = time.monotonic() + grace_seconds
            while self._in_flight and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            environments = list(self._environments)
        for environment in environments:
            environment.stop()

    def _acquire(self) -> ExecutionEnvironment:
        with self._changed:
            while True:
                if self._closed:
                    raise InvocationError("crash", "the function is stopping")
                if self._idle:
                    environment = min(self._idle, key=self._environments.index)
                    self._idle.remove(environment)
                    self._began()
                    return environment
                if len(self._environments) < self.size:
                    environment = ExecutionEnvironment(self.spec, self._context)
                    self._environments.append(environment)  # its place, while it starts
                    number = len(self._environments)
                    self._began()
                    break
                self._changed.wait()
        try:
            environment.start()  # a cold start, for this invoke
        except RuntimeError as exc:
            with self._changed:
                self._environments.remove(environment)
                self._in_flight -= 1
                self._changed.notify_all()
            raise InvocationError("crash", f"cold start failed: {exc}") from exc
        log.info("%s: execution environment %d of %d started", self.spec.name, number, self.size)
        return environment

    def _began(self) -> None:
        self._in_flight += 1
        self.invocations += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._changed:
            self._in_flight -= 1
            self._idle.append(environment)
            self._changed.notify_all()


FunctionWorker = FunctionPool  # the name from before pools
