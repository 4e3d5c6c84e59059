"""The operator API called as API Gateway invokes it."""

from __future__ import annotations

from typing import Any

from tests.support.lambda_events import FakeLambdaContext, api_event


def ops(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str] | None = None,
    **path_parameters: str,
) -> dict[str, Any]:
    """`resource` is the route's template (`/events/{event_id}`), `path` the concrete path."""
    from ops_api.handler import handler

    event = api_event(
        method, path, resource=resource, path_parameters=path_parameters or None, query=params
    )
    return dict(handler(event, FakeLambdaContext()))
