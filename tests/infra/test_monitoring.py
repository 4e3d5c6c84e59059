"""Dashboard, alarms, alarm topic and saved queries, in every environment."""

from __future__ import annotations

import re
from typing import Any

from infra.constructs.monitoring import runbook_anchor
from tests.infra.stack_parts import QUEUES as STACK_QUEUES
from tests.infra.synthesis import ROOT, Synth, settings

# Name in alarms and dashboards → construct path → config key.
FUNCTIONS = {
    "Ingest": ("Ingest", "ingest"),
    "DownloadWorker": ("DownloadWorker", "download_worker"),
    "ProcessingWorker": ("ProcessingWorker", "processing_worker"),
    "OpsApi": ("OpsApi", "ops_api"),
    "ErpIngest": ("Erp/Ingest", "erp_ingest"),
    "ErpSyncWorker": ("Erp/SyncWorker", "erp_sync_worker"),
    "StuckEventsSweeper": ("StuckEvents/Sweeper", "stuck_sweeper"),
    "CatalogApi": ("Catalog/Api", "catalog_api"),
    "CatalogWorker": ("Catalog/Worker", "enrichment_worker"),
    "CircuitBreakerProbe": ("CircuitBreaker/Probe", "breaker_probe"),
}
QUEUES = {
    "DownloadQueue": "DownloadQueue",
    "ProcessingQueue": "ProcessingQueue",
    "ErpHighLane": "Erp/HighLane",
    "ErpStandardLane": "Erp/StandardLane",
    "ErpLowLane": "Erp/LowLane",
    "CatalogQueue": "Catalog/Queue",
}
WATCHED = ("StuckEvents", "EnrichmentBatchFailed", "EnrichmentBatchDuration")
BREAKER_ALARMS = 3  # one per peer: its breaker is open
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
RUNBOOK_ANCHORS = {runbook_anchor(h) for h in re.findall(r"^#+ (.+)$", RUNBOOK, re.MULTILINE)}


def metric_of(synth: Synth, alarm: dict[str, Any]) -> tuple[str, str]:
    [metric] = [m for m in alarm["Metrics"] if "MetricStat" in m]
    stat = metric["MetricStat"]["Metric"]
    # The resource's own dimension (API alarms also carry the stage).
    dimension = stat["Dimensions"][0]
    return stat["MetricName"], synth.render(dimension["Value"])


def test_every_queue_has_a_dlq_size_alarm(synth: Synth) -> None:
    for queue, path in QUEUES.items():
        alarm = synth.alarms()[
            f"WebhookPipeline-{synth.env}-{queue}-DLQ-Queue-Message-Count-Max-Critical"
        ]
        assert metric_of(synth, alarm) == (
            "ApproximateNumberOfMessagesVisible",
            f"{path}/Dlq.QueueName",
        )
        assert alarm["Threshold"] == 0
        assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_every_source_queue_alarms_on_age_and_depth(synth: Synth) -> None:
    config = settings(synth.env).alarms
    for queue, path in QUEUES.items():
        age = synth.alarms()[f"WebhookPipeline-{synth.env}-{queue}-Queue-Message-Age-Max-Warning"]
        depth = synth.alarms()[
            f"WebhookPipeline-{synth.env}-{queue}-Queue-Message-Count-Max-Warning"
        ]
        assert metric_of(synth, age) == (
            "ApproximateAgeOfOldestMessage",
            f"{path}/Queue.QueueName",
        )
        _, consumer, worker = STACK_QUEUES[path]
        timeout = getattr(settings(synth.env).functions, worker).timeout_seconds
        waiting = getattr(settings(synth.env).queues, consumer).age_while_retrying_seconds(timeout)
        # Never below the configured age, and never firing on a message that only waits for
        # its first two scheduled retries (SQS stops counting it after its third receive)
        assert age["Threshold"] == max(config.queue_oldest_message_seconds, waiting + 60)
        assert str(int(age["Threshold"])) in age["AlarmDescription"]
        expected_depth = (
            settings(synth.env).enrichment.alarms.queue_max_depth
            if queue == "CatalogQueue"
            else config.queue_max_depth
        )
        assert depth["Threshold"] == expected_depth


def test_every_function_alarms_on_errors_throttles_and_duration(synth: Synth) -> None:
    config = settings(synth.env)
    prefix = f"WebhookPipeline-{synth.env}"
    for name, (path, key) in FUNCTIONS.items():
        timeout = getattr(config.functions, key).timeout_seconds
        errors = synth.alarms()[f"{prefix}-{name}-Fault-Rate-Critical"]
        throttles = synth.alarms()[f"{prefix}-{name}-Throttled-Count-Critical"]
        duration = synth.alarms()[f"{prefix}-{name}-Latency-P99-Warning"]
        assert metric_of(synth, errors) == ("Errors", f"{path}/Function")
        assert errors["Threshold"] == config.alarms.function_error_rate_percent / 100
        assert metric_of(synth, throttles) == ("Throttles", f"{path}/Function")
        assert throttles["Threshold"] == 0
        assert metric_of(synth, duration) == ("Duration", f"{path}/Function")
        assert duration["Threshold"] == int(timeout * 1000 * config.alarms.function_duration_ratio)


def test_enrichment_alarms_on_batch_failure_rate_and_duration(synth: Synth) -> None:
    config = settings(synth.env)
    prefix = f"WebhookPipeline-{synth.env}-Watched"
    rate = synth.alarms()[f"{prefix}-EnrichmentBatchFailed-Critical"]
    assert rate["Threshold"] == config.enrichment.alarms.batch_failure_rate_percent
    [expression] = [m for m in rate["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "IF(total > 0, 100 * part / total, 0)"
    used = {m["Id"]: m["MetricStat"]["Metric"]["MetricName"] for m in rate["Metrics"]
            if "MetricStat" in m}  # fmt: skip
    assert used == {"part": "EnrichmentBatchFailed", "total": "EnrichmentBatchFinished"}
    duration = synth.alarms()[f"{prefix}-EnrichmentBatchDuration-Critical"]
    [metric] = [m for m in duration["Metrics"] if "MetricStat" in m]
    assert metric["MetricStat"]["Stat"] == "p99"
    assert duration["Threshold"] == int(
        config.functions.enrichment_worker.timeout_seconds * 1000
        * config.enrichment.alarms.batch_duration_ratio
    )  # fmt: skip


def test_stuck_events_alarm_on_the_sweepers_metric(synth: Synth) -> None:
    config = settings(synth.env)
    alarm = synth.alarms()[f"WebhookPipeline-{synth.env}-Watched-StuckEvents-Critical"]
    [metric] = [m for m in alarm["Metrics"] if "MetricStat" in m]
    stat = metric["MetricStat"]
    assert stat["Metric"]["MetricName"] == "StuckEvents"
    assert stat["Metric"]["Namespace"] == f"WebhookPipeline/{synth.env}"
    assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": "StuckEventsSweeper"}]
    assert stat["Stat"] == "Maximum"
    assert stat["Period"] == 60 * max(5, config.stuck_events.sweep_every_minutes)
    assert alarm["Threshold"] == 0
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


def test_api_alarms_on_5xx_rate_and_p99_latency(synth: Synth) -> None:
    config = settings(synth.env).alarms
    prefix = f"WebhookPipeline-{synth.env}"
    assert synth.alarms()[f"{prefix}-Api-Fault-Rate-Critical"]["Threshold"] == 0.01
    assert metric_of(synth, synth.alarms()[f"{prefix}-Api-Fault-Rate-Critical"])[0] == "5XXError"
    latency = synth.alarms()[f"{prefix}-Api-Latency-P99-Warning"]
    assert latency["Threshold"] == config.api_p99_latency_ms


def test_every_alarm_notifies_the_topic_and_links_an_existing_runbook_section(synth: Synth) -> None:
    config = settings(synth.env)
    found = synth.alarms()
    expected = 2 + 3 * len(FUNCTIONS) + 3 * len(QUEUES) + len(WATCHED) + BREAKER_ALARMS
    assert len(found) == expected
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
    assert {a["ActionsEnabled"] for a in synths["dev"].alarms().values()} == {False}
    assert {a["ActionsEnabled"] for a in synths["prod"].alarms().values()} == {True}


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
    for path, _ in FUNCTIONS.values():
        assert f"{path}/Function" in body, path
    for path in QUEUES.values():
        assert f"{path}/Queue.QueueName" in body, path
        assert f"{path}/Dlq.QueueName" in body, path
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
    for table in (
        "DataStores/EventsTable",
        "DataStores/IdempotencyTable",
        "DataStores/EntitiesTable",
    ):
        assert table in body
    for title in (
        "Webhooks",
        "Rejected by reason",
        "Marketplace orders",
        "ERP entity sync",
        "ERP synced by entity",
        "Catalog enrichment",
        "Enrichment requests rejected by reason",
        "Enrichment batches retried",
        "Provider latency (ms)",
        "Stuck events",
        "Latest errors",
    ):
        assert title in body  # fmt: skip
    for metric in ("ErpEventAccepted", "ErpEventSynced", "ErpEventDeadLettered", "StuckEvents"):
        assert metric in body, metric
    # The provider's latency per lookup, as the runbook's enrichment sections read it.
    for percentile in ("p50", "p95", "p99"):
        search = f"""MetricName=\\"ProviderLatency\\"', '{percentile}', 300)"""
        assert search in body, percentile


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
        prefix + "stuck-events",
    }
    for query in queries.values():
        groups = {synth.render(g) for g in query["LogGroupNames"]}
        assert groups == {f"{path}/Logs" for path, _ in FUNCTIONS.values()}
    follow = queries[prefix + "follow-one-event"]["QueryString"]
    for field in ("event_id", "order_id", "correlation_id"):
        assert field in follow
    assert "sort @timestamp asc" in follow


def test_prod_order_queues_age_alarm_outlasts_the_first_two_partner_retries() -> None:
    prod = settings("prod")
    # 5 s and 300 s waits (+20 % jitter), each after a 60 s attempt and a 2 s window, + a minute
    waiting = prod.queues.download.age_while_retrying_seconds(60)
    assert waiting == (2 + 60 + 6) + (2 + 60 + 360)
    assert max(prod.alarms.queue_oldest_message_seconds, waiting + 60) == 550
