"""EventBridge schedule rules (`rate(...)`) that target a function: invoke it on that rate.

The first tick comes one period after start, as in AWS. `--schedule-every` shortens every
period (the stuck-event sweeper's 10 minutes are long to wait for on a laptop).
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.background import BackgroundLoop
from local.functions import FunctionPool, InvocationError

log = logging.getLogger("local.schedules")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Schedule:
    rule_logical_id: str
    function_logical_id: str
    period_seconds: float
    rule_arn: str


def schedules_from(template: Any) -> list[Schedule]:
    found = []
    for logical_id, resource in template.resources("AWS::Events::Rule").items():
        properties = resource["Properties"]
        match = _RATE.match(properties.get("ScheduleExpression", ""))
        if not match or properties.get("State", "ENABLED") != "ENABLED":
            continue
        amount, unit = int(match.group(1)), match.group(2).rstrip("s")
        for target in properties.get("Targets", []):
            function = target["Arn"].get("Fn::GetAtt", [None])[0]
            if function:
                found.append(
                    Schedule(
                        rule_logical_id=logical_id,
                        function_logical_id=function,
                        period_seconds=amount * _UNIT_SECONDS[unit],
                        rule_arn=f"arn:aws:events:us-east-1:000000000000:rule/{logical_id}",
                    )
                )
    return found


def scheduled_event(schedule: Schedule) -> dict[str, Any]:
    """What EventBridge sends a target on each tick."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [schedule.rule_arn],
        "detail": {},
    }


class ScheduleRunner(BackgroundLoop):
    def __init__(
        self, schedule: Schedule, function: FunctionPool, *, every_seconds: float | None
    ) -> None:
        self.schedule = schedule
        self.period = every_seconds or schedule.period_seconds
        self._function = function
        self.ticks = 0
        super().__init__(f"schedule:{schedule.rule_logical_id}")

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.ticks += 1
            try:
                self._function.invoke(scheduled_event(self.schedule))
            except InvocationError as exc:  # EventBridge would not retry (retry_attempts=0)
                log.warning("%s: scheduled invoke failed: %s", self.schedule.rule_logical_id, exc)
