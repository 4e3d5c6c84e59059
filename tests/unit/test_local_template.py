"""The local runtime's template reader: intrinsics resolved as CloudFormation would."""

from __future__ import annotations

from typing import Any

import pytest

from local.provision import generate_secret
from local.template import StackTemplate, UnresolvedReferenceError

RAW: dict[str, Any] = {
    "Resources": {
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
            },
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.14",
                "Environment": {
                    "Variables": {
                        "QUEUE_URL": {"Ref": "Queue"},
                        "REGION_AND_ACCOUNT": {"Fn::Sub": "${AWS::Region}/${AWS::AccountId}"},
                        "DLQ_ARN": {"Fn::Sub": "arn=${Dlq.Arn} literal=${!NotAVar}"},
                        "JOINED": {"Fn::Join": ["-", ["a", {"Ref": "AWS::Partition"}, "b"]]},
                        "PICKED": {"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]},
                        "DROPPED": {"Ref": "AWS::NoValue"},
                    }
                },
            },
        },
        "Node": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "nodejs24.x"}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
    }
}


def template() -> StackTemplate:
    t = StackTemplate(RAW, stack_name="Stack-dev", region="eu-west-1")
    t.register("Queue", "http://localhost/q", Arn="arn:aws:sqs:eu-west-1:123456789012:q")
    t.register("Dlq", "http://localhost/dlq", Arn="arn:aws:sqs:eu-west-1:123456789012:dlq")
    return t


def test_references_resolve_to_the_registered_physical_resources() -> None:
    variables = template().resolve(RAW["Resources"]["Fn"]["Properties"]["Environment"])
    assert variables["Variables"] == {
        "QUEUE_URL": "http://localhost/q",
        "REGION_AND_ACCOUNT": "eu-west-1/123456789012",
        "DLQ_ARN": "arn=arn:aws:sqs:eu-west-1:123456789012:dlq literal=${NotAVar}",
        "JOINED": "a-aws-b",
        "PICKED": "y",
    }


def test_a_reference_to_something_not_provisioned_fails_loudly() -> None:
    with pytest.raises(UnresolvedReferenceError, match="Ref Role"):
        template().resolve({"Ref": "Role"})
    with pytest.raises(UnresolvedReferenceError, match=r"Queue\.QueueName"):
        template().resolve({"Fn::GetAtt": ["Queue", "QueueName"]})


def test_what_is_not_emulated_is_listed_including_non_python_functions() -> None:
    assert template().not_emulated() == {
        "AWS::IAM::Role": ["Role"],
        "AWS::Lambda::Function (nodejs24.x)": ["Node"],
    }


def test_physical_names_are_unique_per_logical_id_and_fit_the_limit() -> None:
    t = template()
    assert t.physical_name("PayloadBucket", max_length=63, lowercase=True) == (
        "stack-dev-payloadbucket"
    )
    assert len(t.physical_name("X" * 100, max_length=80)) == 80


def test_generated_secrets_follow_the_generator_settings() -> None:
    value = generate_secret(
        {"PasswordLength": 48, "ExcludePunctuation": True, "IncludeSpace": False}
    )
    assert len(value) == 48
    assert value.isalnum()
    assert generate_secret({"PasswordLength": 48}) != generate_secret({"PasswordLength": 48})
