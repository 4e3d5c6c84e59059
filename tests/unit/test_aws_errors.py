"""`shared.aws_errors.is_transient`: what a caller's retry can outlive (botocore's own judgement
of throttling, AWS's 5xx, timeouts and lost connections; a batch DynamoDB kept unprocessed), and
what it cannot (access, a malformed call)."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from shared.aws_errors import error_code, is_transient, transient_cause
from shared.item_table import BatchIncompleteError
from tests.support.aws_errors import aws_error


@pytest.mark.parametrize(
    "error",
    [
        aws_error("ProvisionedThroughputExceededException", 400),
        aws_error("ThrottlingException", 400),
        aws_error("RequestLimitExceeded", 400),
        aws_error("TransactionInProgressException", 400),
        aws_error("RequestTimeout", 400),
        aws_error("InternalServerError", 500),
        aws_error("ServiceUnavailable", 503),
        aws_error("SomethingNew", 429),
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        ConnectTimeoutError(endpoint_url="https://dynamodb"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
        BatchIncompleteError("3 of 10 keys still unprocessed"),
    ],
    ids=lambda e: error_code(e),
)
def test_what_a_retry_can_outlive_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        aws_error("AccessDeniedException", 400),
        aws_error("ValidationException", 400),
        aws_error("ResourceNotFoundException", 400),
        NoCredentialsError(),
        ParamValidationError(report="Key is missing"),
        ValueError("not an AWS failure"),
    ],
    ids=lambda e: error_code(e),
)
def test_what_only_a_fix_of_ours_ends_is_not(error: Exception) -> None:
    assert not is_transient(error)


def test_the_error_code_is_aws_s_or_the_exception_s_type() -> None:
    assert error_code(aws_error("ThrottlingException", 400)) == "ThrottlingException"
    assert error_code(ReadTimeoutError(endpoint_url="x")) == "ReadTimeoutError"


def test_a_transient_failure_is_found_under_the_errors_raised_from_it() -> None:
    throttled = aws_error("ThrottlingException", 400)
    wrapper = RuntimeError("Failed to save in progress record to idempotency store")
    wrapper.__cause__ = throttled
    assert transient_cause(wrapper) is throttled

    denied = RuntimeError("wrapped")
    denied.__cause__ = aws_error("AccessDeniedException", 400)
    assert transient_cause(denied) is None
    assert transient_cause(ValueError("plain")) is None
