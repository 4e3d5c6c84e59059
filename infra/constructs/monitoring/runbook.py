"""Alarm descriptions: what the alarm means, the first thing to do, and its runbook section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypedDict


def runbook_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


class AlarmText(TypedDict):
    alarm_description_override: str
    runbook_link: str


@dataclass(frozen=True)
class Runbook:
    url: str

    def describe(self, meaning: str, first_action: str, section: str) -> AlarmText:
        link = f"{self.url}#{runbook_anchor(section)}"
        # The library appends "Runbook: <link>" to the description.
        return {
            "alarm_description_override": f"{meaning} First: {first_action}",
            "runbook_link": link,
        }
