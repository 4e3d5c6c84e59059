"""The pipeline's AWS resources on moto, provisioned from the synthesized template as the local
runtime provisions them (`local.provision`), and the functions' environment as the template
sets it, resolved against those resources, with the tests' few overrides on top.

Every function runs in the test process, so they share one environment: the union of their
variables. A variable two functions set differently must be one of the overrides.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import boto3

from local.provision import Provisioned, provision
from local.template import StackTemplate

REGION = "us-east-1"
# Every test stage retries on this schedule (the workers' RETRY_SCHEDULE): 3 receives in all,
# and every queue's redrive policy is set to match.
RETRY_DELAYS_SECONDS = (1, 2)
MAX_RECEIVE_COUNT = len(RETRY_DELAYS_SECONDS) + 1
STUCK_AFTER_MINUTES = 30
ERP_KEY = "erp-key-current"  # test values, not real keys
ERP_OLD_KEY = "erp-key-previous"
PROVIDER_KEY = "provider-key-for-tests"  # a test value, not a real key
# Quick to give up on a stub peer; a pool of 4 is what the concurrency tests count.
HTTP_CLIENT = {
    "connect_timeout_seconds": 1,
    "read_timeout_seconds": 2,
    "max_retries": 1,
    "backoff_factor_seconds": 0,
    "max_retry_after_seconds": 0,
    "pool_size": 4,
}
# Powertools reads these once, at import, for every function of the process: conftest sets them.
PROCESS_WIDE_PREFIX = "POWERTOOLS_"


@dataclass(frozen=True)
class QueuePair:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class Resources:
    """The physical names the functions were given, read from their environment."""

    events_table: str
    idempotency_table: str
    entities_table: str
    enrichment_table: str
    products_table: str
    bucket: str
    download: QueuePair
    processing: QueuePair
    erp_lanes: dict[str, QueuePair]
    enrichment: QueuePair
    signing_secret_name: str
    token_secret_name: str
    erp_keys_secret_name: str
    provider_key_secret_name: str

    @classmethod
    def from_environment(cls, environment: dict[str, str]) -> Resources:
        # QUEUES is the operator functions' map of every stage to its queue and DLQ.
        stages = {
            name: QueuePair(**pair) for name, pair in json.loads(environment["QUEUES"]).items()
        }
        return cls(
            events_table=environment["EVENTS_TABLE_NAME"],
            idempotency_table=environment["IDEMPOTENCY_TABLE_NAME"],
            entities_table=environment["ENTITIES_TABLE_NAME"],
            enrichment_table=environment["ENRICHMENT_TABLE_NAME"],
            products_table=environment["PRODUCTS_TABLE_NAME"],
            bucket=environment["PAYLOAD_BUCKET_NAME"],
            download=stages["download"],
            processing=stages["processing"],
            erp_lanes={
                name.removeprefix("erp-"): pair
                for name, pair in stages.items()
                if name.startswith("erp-")
            },
            enrichment=stages["enrichment"],
            signing_secret_name=environment["WEBHOOK_SECRET_NAME"],
            token_secret_name=environment["MARKETPLACE_TOKEN_SECRET_NAME"],
            erp_keys_secret_name=environment["WEBHOOK_KEYS_SECRET_NAME"],
            provider_key_secret_name=environment["PROVIDER_KEY_SECRET_NAME"],
        )


@dataclass(frozen=True)
class Peers:
    """The base URLs of the local stand-ins for the partners' APIs."""

    marketplace_url: str
    internal_url: str
    provider_url: str


def overrides_for(peers: Peers) -> dict[str, str]:
    """What the tests set on top of the template's environment, and why."""
    return {
        "MARKETPLACE_API_BASE_URL": peers.marketplace_url,
        "INTERNAL_API_BASE_URL": peers.internal_url,
        "PROVIDER_API_BASE_URL": peers.provider_url,
        # One schedule for every worker (the stages' own differ; one process has one env).
        "RETRY_SCHEDULE": json.dumps(
            {
                "delays_seconds": RETRY_DELAYS_SECONDS,
                "jitter_ratio": 0.2,
                "max_delay_seconds": 43000,
            }
        ),
        "HTTP_CLIENT": json.dumps(HTTP_CLIENT),
        # Wide, so that the fixed event times of the tests' documents stay plausible for years;
        # the window itself is tested with times relative to now.
        "EVENT_TIME_WINDOW": json.dumps({"max_future_seconds": 300, "max_age_days": 3650}),
        "STUCK_AFTER_MINUTES": str(STUCK_AFTER_MINUTES),
    }


def template_variables(template: StackTemplate) -> dict[str, set[str]]:
    """Every value each variable has in the template's Python functions, resolved against what
    was provisioned."""
    values: dict[str, set[str]] = defaultdict(set)
    for logical_id, resource in template.resources("AWS::Lambda::Function").items():
        if not template.is_python_function(logical_id):
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for name, value in template.resolve(variables).items():
            values[name].add(str(value))
    return dict(values)


def function_environment(template: StackTemplate, overrides: dict[str, str]) -> dict[str, str]:
    """The union of the functions' variables, then `overrides`."""
    variables = {
        name: values
        for name, values in template_variables(template).items()
        if not name.startswith(PROCESS_WIDE_PREFIX)
    }
    differing = sorted(n for n, v in variables.items() if len(v) > 1 and n not in overrides)
    if differing:
        raise AssertionError(f"functions set {differing} differently: the tests must choose one")
    return {**{name: min(values) for name, values in variables.items()}, **overrides}


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def _redrive_on_the_tests_schedule(provisioned: Provisioned) -> None:
    """Each queue dead-letters after MAX_RECEIVE_COUNT receives, as the tests' schedule plans."""
    sqs = _client("sqs")
    for url in provisioned.queues.values():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        policy = attributes.get("Attributes", {}).get("RedrivePolicy")
        if policy:
            redrive = {**json.loads(policy), "maxReceiveCount": MAX_RECEIVE_COUNT}
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)}
            )


def _store_test_secrets(resources: Resources, *, signing_secret: str, token: str) -> None:
    """The secrets' values the tests sign and authenticate with (the template generates some)."""
    secrets = _client("secretsmanager")
    for name, value in (
        (resources.signing_secret_name, signing_secret),
        (resources.token_secret_name, token),
        (resources.erp_keys_secret_name, f"{ERP_KEY} {ERP_OLD_KEY}"),
        (resources.provider_key_secret_name, PROVIDER_KEY),
    ):
        secrets.put_secret_value(SecretId=name, SecretString=value)


def provision_pipeline(
    template: StackTemplate, peers: Peers, *, signing_secret: str, token: str
) -> tuple[Resources, dict[str, str]]:
    """Create the template's tables, queues, buckets and secrets on moto (mock_aws active);
    returns them and the functions' environment."""
    provisioned = provision(template, _client)
    _redrive_on_the_tests_schedule(provisioned)
    environment = function_environment(template, overrides_for(peers))
    resources = Resources.from_environment(environment)
    _store_test_secrets(resources, signing_secret=signing_secret, token=token)
    return resources, environment
