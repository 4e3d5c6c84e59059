"""Dashboard, alarms, alarm topic and saved queries, in every environment."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.constructs.monitoring import runbook_anchor
from tests.infra.conftest import ENVS, ROOT, Synth
from tests.infra.test_stack import settings

FUNCTIONS = ("Ingest", "DownloadWorker", "ProcessingWorker", "OpsApi")
QUEUES = ("DownloadQueue", "ProcessingQueue")
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
RUNBOOK_ANCHORS = {runbook_anchor(h) for h in re.findall(r"^#+ (.+)$", RUNBOOK, re.MULTILINE)}


@pytest.fixture(params=ENVS)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synth]) -> Synth:
    return synths[request.param]


def alarms(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources("AWS::CloudWatch::Alarm").values()
    }


def metric_of(synth: Synth, alarm: dict[str, Any]) -> tuple[str, str]:
    [metric] = [m for m in alarm["Metrics"] if "MetricStat" in m]
    stat = metric["MetricStat"]["Metric"]
    # The resource's own dimension (API alarms also carry the stage).
    dimension = stat["Dimensions"][0]
    return stat["MetricName"], synth.render(dimension["Value"])


def test_every_queue_has_a_dlq_size_alarm(synth: Synth) -> None:
    for queue in QUEUES:
        alarm = alarms(synth)[
            f"WebhookPipeline-{synth.env}-{queue}-DLQ-Queue-Message-Count-Max-Critical"
        ]
        assert metric_of(synth, alarm) == (
            "ApproximateNumberOfMessagesVisible",
            f"{queue}/Dlq.QueueName",
        )
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_every_source_queue_alarms_on_age_and_depth(synth: Synth) -> None:
    config = settings(synth.env).alarms
    for queue in QUEUES:
        age = alarms(synth)[f"WebhookPipeline-{synth.env}-{queue}-Queue-Message-Age-Max-Warning"]
        depth = alarms(synth)[
            f"WebhookPipeline-{synth.env}-{queue}-Queue-Message-Count-Max-Warning"
        ]
        assert metric_of(synth, age) == (
            "ApproximateAgeOfOldestMessage",
            f"{queue}/Queue.QueueName",
        )
        assert age["Threshold"] == config.queue_oldest_message_seconds
        assert depth["Threshold"] == config.queue_max_depth


def test_every_function_alarms_on_errors_throttles_and_duration(synth: Synth) -> None:
    config = settings(synth.env)
    timeouts = {
        "Ingest": config.functions.ingest.timeout_seconds,
        "DownloadWorker": config.functions.download_worker.timeout_seconds,
        "ProcessingWorker": config.functions.processing_worker.timeout_seconds,
        "OpsApi": config.functions.ops_api.timeout_seconds,
    }
    prefix = f"WebhookPipeline-{synth.env}"
    for name in FUNCTIONS:
        errors = alarms(synth)[f"{prefix}-{name}-Fault-Rate-Critical"]
        throttles = alarms(synth)[f"{prefix}-{name}-Throttled-Count-Critical"]
        duration = alarms(synth)[f"{prefix}-{name}-Latency-P99-Warning"]
        assert metric_of(synth, errors) == ("Errors", f"{name}/Function")
        assert errors["Threshold"] == config.alarms.function_error_rate_percent / 100
        assert metric_of(synth, throttles) == ("Throttles", f"{name}/Function")
        assert throttles["Threshold"] == 0
        assert metric_of(synth, duration) == ("Duration", f"{name}/Function")
        assert duration["Threshold"] == int(
            timeouts[name] * 1000 * config.alarms.function_duration_ratio
        )


def test_api_alarms_on_5xx_rate_and_p99_latency(synth: Synth) -> None:
    config = settings(synth.env).alarms
    prefix = f"WebhookPipeline-{synth.env}"
    assert alarms(synth)[f"{prefix}-Api-Fault-Rate-Critical"]["Threshold"] == 0.01
    assert metric_of(synth, alarms(synth)[f"{prefix}-Api-Fault-Rate-Critical"])[0] == "5XXError"
    latency = alarms(synth)[f"{prefix}-Api-Latency-P99-Warning"]
    assert latency["Threshold"] == config.api_p99_latency_ms


def test_every_alarm_notifies_the_topic_and_links_an_existing_runbook_section(synth: Synth) -> None:
    config = settings(synth.env)
    found = alarms(synth)
    assert len(found) == 2 + 3 * len(FUNCTIONS) + 3 * len(QUEUES)
    for name, alarm in found.items():
        assert [synth.render(a) for a in alarm["AlarmActions"]] == ["Monitoring/AlarmTopic"], name
        assert alarm["ActionsEnabled"] is config.alarms.actions_enabled, name
        description = alarm["AlarmDescription"]
        assert " First: " in description, name
        [link] = re.findall(r"Runbook: (\S+)", description)
        url, anchor = link.split("#")
        assert url == str(config.runbook_url)
        assert anchor in RUNBOOK_ANCHORS, f"{name}: no runbook heading for #{anchor}"


def test_dev_alarms_are_quiet_and_prod_pages(synths: dict[str, Synth]) -> None:
    assert {a["ActionsEnabled"] for a in alarms(synths["dev"]).values()} == {False}
    assert {a["ActionsEnabled"] for a in alarms(synths["prod"]).values()} == {True}


def test_the_alarm_topic_is_encrypted_tls_only_and_mails_on_call_where_configured(
    synth: Synth,
) -> None:
    topic = synth.one("AWS::SNS::Topic", "Monitoring/AlarmTopic")["Properties"]
    assert synth.render(topic["KmsMasterKeyId"]) == "Monitoring/AlarmTopicKey.Arn"
    key = synth.one("AWS::KMS::Key", "Monitoring/AlarmTopicKey")["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in statements)
    [policy] = synth.resources("AWS::SNS::TopicPolicy").values()
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    subscriptions = [s["Properties"] for s in synth.resources("AWS::SNS::Subscription").values()]
    email = settings(synth.env).alarm_email
    assert [s["Endpoint"] for s in subscriptions] == ([email] if email else [])


def test_the_dashboard_shows_every_function_queue_and_the_latest_errors(synth: Synth) -> None:
    [dashboard] = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"WebhookPipeline-{synth.env}"
    body = synth.render(dashboard["Properties"]["DashboardBody"])
    for name in FUNCTIONS:
        assert f"{name}/Function" in body, name
    for queue in QUEUES:
        assert f"{queue}/Queue.QueueName" in body, queue
        assert f"{queue}/Dlq.QueueName" in body, queue
    for metric in (
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateAgeOfOldestMessage",
        "ConcurrentExecutions",
        "ReadThrottleEvents",
        "ConsumedReadCapacityUnits",
    ):
        assert metric in body, metric  # fmt: skip
    for percentile in ("p50", "p95", "p99"):
        assert f'"{percentile}"' in body, percentile
    for table in ("DataStores/EventsTable", "DataStores/IdempotencyTable"):
        assert table in body
    for title in ("Webhooks", "Rejected by reason", "Marketplace orders", "Latest errors"):
        assert title in body


def test_saved_queries_cover_every_function_log_group(synth: Synth) -> None:
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in synth.resources("AWS::Logs::QueryDefinition").values()
    }
    prefix = f"WebhookPipeline-{synth.env}/"
    assert set(queries) == {
        prefix + "follow-one-event",
        prefix + "errors-by-5-minutes",
        prefix + "duration-per-function",
        prefix + "rejected-webhooks-by-reason",
    }
    for query in queries.values():
        groups = {synth.render(g) for g in query["LogGroupNames"]}
        assert groups == {f"{name}/Logs" for name in FUNCTIONS}
    follow = queries[prefix + "follow-one-event"]["QueryString"]
    for field in ("event_id", "order_id", "correlation_id"):
        assert field in follow
    assert "sort @timestamp asc" in follow
