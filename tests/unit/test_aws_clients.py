"""The functions' clients skip botocore's client-side parameter check (the services check every
request); the tests' clients check, so that a malformed call fails in the tests."""

from __future__ import annotations

import pytest
from botocore.exceptions import ParamValidationError
from moto import mock_aws

from shared import aws_clients


def test_a_malformed_call_fails_at_the_client_in_the_tests() -> None:
    aws_clients.reset()
    with mock_aws():
        queue = aws_clients.sqs().create_queue(QueueName="q")["QueueUrl"]
        with pytest.raises(ParamValidationError, match="MessageBody"):
            aws_clients.sqs().send_message(QueueUrl=queue, MessageBody=123)  # type: ignore[arg-type]
    aws_clients.reset()
