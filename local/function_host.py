"""One Lambda execution environment: a child process that imports a handler and serves invokes.

Kept free of third-party imports: the handler's modules (Powertools, boto3) are imported only
after the process environment is exactly the function's.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    log_file: Path


class LocalContext:
    """The `context` argument: the attributes Lambda's Python runtime provides."""

    def __init__(self, spec: FunctionSpec, deadline: float) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.environment.get("LOCAL_FUNCTION_ARN", spec.name)
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def serve(connection: Connection, spec: FunctionSpec) -> None:
    """The child: set up as Lambda's init phase does, then answer invokes until told to stop."""
    # Ctrl-C in the terminal reaches the whole process group: the runtime stops us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log = open(spec.log_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    os.environ.clear()
    os.environ.update(spec.environment)
    # Only the function's code asset (and installed packages standing in for its layer).
    sys.path[:] = [str(spec.code_dir)] + [p for p in sys.path if not p.endswith("/lambdas")]
    try:
        module_name, function_name = spec.handler.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:  # noqa: BLE001 - any init failure is reported, as Lambda's Init phase does
        connection.send(("init_error", traceback.format_exc()))
        return
    connection.send(("ready", os.getpid()))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        event, deadline = message
        try:
            result: Any = handler(event, LocalContext(spec, deadline))
            connection.send(("ok", result))
        except Exception as exc:  # noqa: BLE001 - the invoke fails, the environment lives on
            traceback.print_exc()
            connection.send(("error", {"errorType": type(exc).__name__, "errorMessage": str(exc)}))
