"""Which AWS failures a caller's retry can outlive: throttling, AWS's own 5xx, timeouts and lost
connections (what botocore's standard retry mode retries, judged by its own checkers), and a
batch DynamoDB kept leaving unprocessed. Anything else (access denied, a malformed request) is
ours to fix, and retrying it changes nothing."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import (
    RetryContext,
    ThrottledRetryableChecker,
    TransientRetryableChecker,
)

from shared.item_table import BatchIncompleteError

_CHECKERS = (ThrottledRetryableChecker(), TransientRetryableChecker())
_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def is_transient(error: BaseException) -> bool:
    if isinstance(error, BatchIncompleteError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in _RETRYABLE_STATUS:
            return True
        context = RetryContext(attempt_number=1, parsed_response=dict(error.response))
    elif isinstance(error, BotoCoreError):
        context = RetryContext(attempt_number=1, caught_exception=error)
    else:
        return False
    return any(checker.is_retryable(context) for checker in _CHECKERS)


def transient_cause(error: BaseException) -> BaseException | None:
    """`error`, or the first exception it was raised from, when that is transient."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if is_transient(current):
            return current
        seen.add(id(current))
        current = current.__cause__
    return None


def error_code(error: BaseException) -> str:
    """The AWS error code, or the exception's type when AWS gave none."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__
