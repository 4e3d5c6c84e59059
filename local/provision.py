"""Create the template's queues, tables, buckets and secrets on moto, with boto3.

Each resource is registered with the template as it is created, so later `Ref`/`Fn::GetAtt`
(a queue's redrive target, a function's env vars) resolve to the local physical resources.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from local.template import StackTemplate

QUEUE_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
)


@dataclass
class Provisioned:
    secret_values: dict[str, str] = field(default_factory=dict)  # secret name → value
    queues: dict[str, str] = field(default_factory=dict)  # logical id → queue URL
    dead_letter_queues: dict[str, str] = field(default_factory=dict)  # logical id → queue URL
    tables: dict[str, str] = field(default_factory=dict)  # logical id → table name
    buckets: dict[str, str] = field(default_factory=dict)  # logical id → bucket name


def generate_secret(spec: dict[str, Any]) -> str:
    """A value as Secrets Manager's GenerateSecretString would make it."""
    alphabet = ""
    if not spec.get("ExcludeUppercase"):
        alphabet += string.ascii_uppercase
    if not spec.get("ExcludeLowercase"):
        alphabet += string.ascii_lowercase
    if not spec.get("ExcludeNumbers"):
        alphabet += string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    if spec.get("IncludeSpace"):
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
    length = int(spec.get("PasswordLength", 32))
    value = "".join(secrets.choice(alphabet) for _ in range(length))
    template_string = spec.get("SecretStringTemplate")
    if template_string and spec.get("GenerateStringKey"):
        document = json.loads(template_string)
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


def register_functions_and_api(template: StackTemplate) -> None:
    """Names for what the runtime runs rather than creates, so references to them resolve."""
    for logical_id in template.resources("AWS::Lambda::Function"):
        name = template.physical_name(logical_id, max_length=64)
        template.register(
            logical_id, name, Arn=template.arn("lambda", f"function:{name}"), FunctionName=name
        )
    for logical_id in template.resources("AWS::ApiGateway::RestApi"):
        template.register(logical_id, logical_id.lower(), RootResourceId="/")
    for logical_id in template.resources("AWS::ApiGateway::Resource"):
        template.register(logical_id, logical_id)


def provision(template: StackTemplate, clients: Any) -> Provisioned:
    """`clients(service)` returns a boto3 client bound to moto."""
    register_functions_and_api(template)
    result = Provisioned()
    _secrets(template, clients("secretsmanager"), result)
    _buckets(template, clients("s3"), result)
    _tables(template, clients("dynamodb"), result)
    _queues(template, clients("sqs"), result)
    return result


def _secrets(template: StackTemplate, client: Any, result: Provisioned) -> None:
    for logical_id, resource in template.resources("AWS::SecretsManager::Secret").items():
        properties = template.resolve(resource["Properties"])
        name = properties.get("Name") or template.physical_name(logical_id, max_length=512)
        value = properties.get("SecretString") or generate_secret(
            properties.get("GenerateSecretString", {})
        )
        arn = client.create_secret(Name=name, SecretString=value)["ARN"]
        template.register(logical_id, arn, Id=arn)
        result.secret_values[name] = value


def _buckets(template: StackTemplate, client: Any, result: Provisioned) -> None:
    for logical_id, resource in template.resources("AWS::S3::Bucket").items():
        properties = template.resolve(resource.get("Properties", {}))
        name = properties.get("BucketName") or template.physical_name(
            logical_id, max_length=63, lowercase=True
        )
        client.create_bucket(Bucket=name)
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        template.register(
            logical_id,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{template.region}.amazonaws.com",
        )
        result.buckets[logical_id] = name


def _tables(template: StackTemplate, client: Any, result: Provisioned) -> None:
    for logical_id, resource in template.resources("AWS::DynamoDB::Table").items():
        properties = template.resolve(resource["Properties"])
        name = properties.get("TableName") or template.physical_name(logical_id, max_length=255)
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": properties.get("BillingMode", "PROVISIONED"),
        }
        if arguments["BillingMode"] == "PROVISIONED":
            arguments["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
        if properties.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        client.create_table(**arguments)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        template.register(
            logical_id, name, Arn=template.arn("dynamodb", f"table/{name}"), StreamArn=""
        )
        result.tables[logical_id] = name


def _queues(template: StackTemplate, client: Any, result: Provisioned) -> None:
    queues = template.resources("AWS::SQS::Queue")
    # First every queue, then the redrive policies, which name other queues by ARN.
    for logical_id, resource in queues.items():
        properties = template.resolve(
            {k: v for k, v in resource.get("Properties", {}).items() if k != "RedrivePolicy"}
        )
        name = properties.get("QueueName") or template.physical_name(logical_id, max_length=80)
        attributes = {k: str(properties[k]) for k in QUEUE_ATTRIBUTES if k in properties}
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = template.arn("sqs", name)
        template.register(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)
        result.queues[logical_id] = url
    targets = set()
    for logical_id, resource in queues.items():
        redrive = resource.get("Properties", {}).get("RedrivePolicy")
        if not redrive:
            continue
        policy = template.resolve(redrive)
        client.set_queue_attributes(
            QueueUrl=result.queues[logical_id],
            Attributes={"RedrivePolicy": json.dumps(policy)},
        )
        targets.add(policy["deadLetterTargetArn"])
    for logical_id, url in result.queues.items():
        if template.physical[logical_id].attributes["Arn"] in targets:
            result.dead_letter_queues[logical_id] = url
