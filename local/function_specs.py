"""What each Python function of the template runs with locally: its pool size and its spec
(handler, code, environment as Lambda would set it, pointed at the local emulator)."""

from __future__ import annotations

import os
from pathlib import Path

from local.event_sources import EventSourceMapping
from local.function_host import FunctionSpec
from local.functions import pool_size
from local.template import StackTemplate

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


def function_pool_sizes(
    template: StackTemplate, mappings: list[EventSourceMapping], cap: int
) -> dict[str, int]:
    """Logical id → pool size of each Python function (`local.functions.pool_size`)."""
    sizes = {}
    for logical_id, resource in template.resources("AWS::Lambda::Function").items():
        if not template.is_python_function(logical_id):
            continue
        reserved = resource["Properties"].get("ReservedConcurrentExecutions")
        sizes[logical_id] = pool_size(
            reserved=None if reserved is None else int(template.resolve(reserved)),
            source_concurrency=[
                m.maximum_concurrency for m in mappings if m.function_logical_id == logical_id
            ],
            cap=cap,
        )
    return sizes


def function_spec(
    template: StackTemplate,
    logical_id: str,
    *,
    overrides: dict[str, str],
    logs: Path,
    moto_endpoint: str,
    region: str,
    lambda_endpoint: str | None = None,
) -> FunctionSpec:
    """`overrides`: remote base URL → local stand-in URL, applied to the env's URLs;
    `lambda_endpoint`: the runtime's stand-in for Lambda's event source mapping API."""
    properties = template.raw["Resources"][logical_id]["Properties"]
    name = template.physical[logical_id].ref
    variables = template.resolve(properties.get("Environment", {}).get("Variables", {}))
    for key in list(variables):
        for remote, local in overrides.items():
            value = variables[key]
            if not isinstance(value, str):
                continue
            if value.rstrip("/").startswith(remote):
                variables[key] = local + value.rstrip("/")[len(remote) :]
            elif value[:1] in "[{":  # a JSON document naming URLs (the probe's targets)
                variables[key] = value.replace(remote, local)
    logging_config = properties.get("LoggingConfig", {})
    environment = {
        **{k: str(v) for k, v in variables.items()},
        # What Lambda's runtime adds, pointed at the local emulator.
        **DUMMY_CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        **({"AWS_ENDPOINT_URL_LAMBDA": lambda_endpoint} if lambda_endpoint else {}),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(properties.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": logging_config.get("LogFormat", "Text"),
        "AWS_LAMBDA_LOG_LEVEL": logging_config.get("ApplicationLogLevel", "INFO"),
        "LAMBDA_TASK_ROOT": str(template.asset_dir(logical_id)),
        "LOCAL_FUNCTION_ARN": template.physical[logical_id].attributes["Arn"],
        # No X-Ray daemon locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TZ": "UTC",
    }
    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        handler=properties["Handler"],
        code_dir=template.asset_dir(logical_id),
        environment=environment,
        timeout_seconds=int(properties.get("Timeout", 3)),
        memory_mb=int(properties.get("MemorySize", 128)),
        log_file=logs / f"{name}.log",
    )


def function_label(template: StackTemplate, logical_id: str) -> str:
    """`Erp/SyncWorker` for `WebhookPipeline-dev/Erp/SyncWorker/Function/Resource`."""
    parts = template.path_of(logical_id).split("/")[1:]
    while parts and parts[-1] in ("Resource", "Function"):
        parts.pop()
    return "/".join(parts) or logical_id
