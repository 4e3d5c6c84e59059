"""`ops --env NAME`: the API from the stack's outputs, SigV4-signed calls, firing alarms."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local.http_stub import RecordedRequest, StubResponse, StubServer
from ops_cli.main import main as ops


@pytest.fixture
def deployed() -> Iterator[StubServer]:
    """A stack named WebhookPipeline-test whose ApiUrl output points at a local stub API."""
    with mock_aws(), StubServer() as api:
        template = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"ApiUrl": {"Value": f"{api.url}/test/"}},
        }
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="WebhookPipeline-test", TemplateBody=json.dumps(template)
        )
        yield api


def _envelope(data: object) -> StubResponse:
    return StubResponse(200, {"status": "success", "data": data, "error": None, "request_id": "r"})


def test_requests_are_signed_for_execute_api(
    deployed: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {"event_id": "e1", "status": "PROCESSED", "status_history": []}
    deployed.route("GET", r"/test/events/e1", lambda _: _envelope(event))

    assert ops(["--env", "test", "--json", "events", "show", "e1"]) == 0

    assert json.loads(capsys.readouterr().out)["status"] == "PROCESSED"
    [request] = deployed.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/execute-api/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers


def test_alarms_lists_only_this_stacks_firing_alarms(
    deployed: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    for name in (
        "WebhookPipeline-test-Ingest-Fault-Rate-Critical",
        "Other-Alarm",
        "WebhookPipeline-test-Quiet",
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
            Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    for name in ("WebhookPipeline-test-Ingest-Fault-Rate-Critical", "Other-Alarm"):
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="errors > 5%")

    assert ops(["--env", "test", "--json", "alarms"]) == 0

    firing = json.loads(capsys.readouterr().out)
    assert [a["name"] for a in firing] == ["WebhookPipeline-test-Ingest-Fault-Rate-Critical"]
    assert firing[0]["reason"] == "errors > 5%"


def test_an_unknown_environment_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        assert ops(["--env", "nope", "status"]) == 1
    assert "cannot describe stack WebhookPipeline-nope" in capsys.readouterr().err


def test_api_errors_are_reported_with_their_code(
    deployed: StubServer, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(_: RecordedRequest) -> StubResponse:
        error = {"code": "NOT_FOUND", "message": "no event e2", "details": None}
        return StubResponse(404, {"status": "failure", "data": None, "error": error})

    deployed.route("GET", r"/test/events/e2", refuse)
    assert ops(["--env", "test", "events", "show", "e2"]) == 1
    assert "HTTP 404 NOT_FOUND: no event e2" in capsys.readouterr().err
