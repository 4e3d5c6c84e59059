"""AWS's side of a batch, recorded and replayed: the answers moto gave a batch's first run, served
again to a second run of the same batch without moto, so that the timed run spends the CPU a
worker spends on Lambda (botocore builds, signs and parses every call) and none of the server's.

On Lambda, DynamoDB, S3 and SQS do their work on AWS's machines while the worker waits; moto in
the worker's process does it under the worker's GIL, which serialises the calls of a batch's
concurrent records. Replaying the recorded answers takes that CPU out of the process altogether
(rather than subtracting it afterwards) and leaves the waits to the simulated latencies.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_Key = tuple[str, str, str, str]
_Answer = tuple[int, dict[str, str], bytes]
Serve = Callable[..., Any]


class UnrecordedCallError(RuntimeError):
    """The replayed run made a call the recorded run did not: the figure would be void."""


class Replay:
    """Wraps moto's botocore stubber (`serve`): off, it passes through; `recording()`, it keeps
    each answer per request; `replaying()`, it answers from what was kept, in the order each
    request was first answered, without calling moto."""

    def __init__(self) -> None:
        self._answers: defaultdict[_Key, deque[_Answer]] = defaultdict(deque)
        self._mode = "off"
        self._lock = threading.Lock()

    def wrap(self, serve: Serve) -> Serve:
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from moto.core.botocore_stubber import MockRawResponse

        def answered(stubber: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
            if self._mode == "replaying":
                status, headers, body = self._next(_key(request))
                return AWSResponse(
                    request.url, status, HTTPHeaders.from_dict(headers), MockRawResponse(body)
                )
            response = serve(stubber, event_name, request, **kwargs)
            if self._mode == "recording" and response is not None:
                body = response.content  # reads the raw body: answer with a fresh copy
                with self._lock:
                    self._answers[_key(request)].append(
                        (response.status_code, dict(response.headers), body)
                    )
                return AWSResponse(
                    request.url, response.status_code, response.headers, MockRawResponse(body)
                )
            return response

        return answered

    @contextmanager
    def recording(self) -> Iterator[None]:
        self._answers.clear()
        with self._in("recording"):
            yield

    @contextmanager
    def replaying(self) -> Iterator[None]:
        with self._in("replaying"):
            yield
        left = [key for key, answers in self._answers.items() for _ in answers]
        if left:
            raise UnrecordedCallError(f"the replayed run did not make these recorded calls: {left}")

    @contextmanager
    def _in(self, mode: str) -> Iterator[None]:
        self._mode = mode
        try:
            yield
        finally:
            self._mode = "off"

    def _next(self, key: _Key) -> _Answer:
        with self._lock:
            answers = self._answers.get(key)
            if not answers:
                raise UnrecordedCallError(f"no recorded answer for {key}")
            return answers.popleft()


def _key(request: Any) -> _Key:
    """What tells one call from another across the two runs: the operation, the URL (an S3
    object's key is in it) and the item or queue it is about (DynamoDB, SQS); timestamps and
    generated ids in the bodies differ between runs and are not part of it."""
    target = request.headers.get("X-Amz-Target", b"")
    target = target.decode() if isinstance(target, bytes) else str(target)
    subject = ""
    if target and request.body:
        document = json.loads(request.body)
        subject = json.dumps(
            document.get("Key") or document.get("QueueUrl") or document.get("TableName"),
            sort_keys=True,
        )
    return request.method, request.url.partition("?")[0], target, subject
