"""Names operators see (alarms, dashboards, service names), unique across nested pipelines."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct


def qualified_name(construct: Construct) -> str:
    """The construct's path below its stack without separators: `Erp/Ingest` → `ErpIngest`."""
    stack_depth = len(Stack.of(construct).node.scopes)
    return "".join(scope.node.id for scope in construct.node.scopes[stack_depth:])
