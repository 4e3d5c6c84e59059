"""The dev stack as the local runtime sees it: every resource type is accounted for."""

from __future__ import annotations

from local.template import PROVISIONED, RUN, StackTemplate
from tests.infra.conftest import Synth


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
    } <= types - listed
    # The only function skipped is CDK's Node.js custom resource provider.
    skipped_functions = [
        k for k in template.not_emulated() if k.startswith("AWS::Lambda::Function")
    ]
    assert skipped_functions == ["AWS::Lambda::Function (nodejs24.x)"]
