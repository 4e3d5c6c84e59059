"""The dev stack as the local runtime sees it: every resource type is accounted for."""

from __future__ import annotations

from local.schedules import scheduled_event, schedules_from
from local.template import PROVISIONED, RUN, StackTemplate
from tests.infra.synthesis import Synth


def test_every_resource_type_is_provisioned_run_or_listed(synths: dict[str, Synth]) -> None:
    template = StackTemplate(
        synths["dev"].raw, stack_name="WebhookPipeline-dev", region="us-east-1"
    )
    types = {resource["Type"] for resource in template.resources().values()}
    listed = {kind.split(" (")[0] for kind in template.not_emulated()}

    assert types == (types & (PROVISIONED | RUN)) | listed
    # What the pipeline needs locally is provisioned or run, not skipped.
    assert {
        "AWS::SQS::Queue",
        "AWS::DynamoDB::Table",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::Lambda::EventSourceMapping",
        "AWS::ApiGateway::Method",
        "AWS::Events::Rule",
    } <= types - listed
    # The only function skipped is CDK's Node.js custom resource provider.
    skipped_functions = [
        k for k in template.not_emulated() if k.startswith("AWS::Lambda::Function")
    ]
    assert skipped_functions == ["AWS::Lambda::Function (nodejs24.x)"]


def test_the_sweepers_schedule_is_run_at_its_rate(synths: dict[str, Synth]) -> None:
    template = StackTemplate(
        synths["dev"].raw, stack_name="WebhookPipeline-dev", region="us-east-1"
    )
    [schedule] = [
        s
        for s in schedules_from(template)
        if "/StuckEvents/" in template.path_of(s.function_logical_id)
    ]
    assert template.path_of(schedule.function_logical_id) == (
        "WebhookPipeline-dev/StuckEvents/Sweeper/Function/Resource"
    )
    assert schedule.period_seconds == 10 * 60  # dev: sweep_every_minutes 10
    event = scheduled_event(schedule)
    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
