"""A function invoked on a fixed rate, the way every scheduled job of the platform is."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


def every_minutes(
    scope: Construct, construct_id: str, *, minutes: int, function: lambda_.IFunction, purpose: str
) -> events.Rule:
    """A rule invoking `function` every `minutes`, described as "<purpose> every N min"."""
    every = Duration.minutes(minutes)
    return events.Rule(
        scope,
        construct_id,
        description=f"{purpose} every {minutes} min",
        schedule=events.Schedule.rate(every),
        targets=[
            # A missed tick is made up by the next one: no retries piling up behind it.
            targets.LambdaFunction(function, retry_attempts=0, max_event_age=every)
        ],
    )
