"""An execution environment dying mid-attempt, as a test can make it happen in-process."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.lambda_events import FakeLambdaContext


class ProcessKilled(BaseException):
    """No handler code runs after it: it passes every `except Exception`, as a SIGKILL, a
    timeout or running out of memory would end the invocation."""


def die_during(
    monkeypatch: pytest.MonkeyPatch, target: Any, method: str, handler: Any, event: Any
) -> None:
    """Invoke `handler` with `event`; the process dies when it calls `target.method`."""

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise ProcessKilled(method)

    with monkeypatch.context() as patch:
        patch.setattr(target, method, killed)
        with pytest.raises(ProcessKilled):
            handler(event, FakeLambdaContext())
