"""Reading what the functions print: Powertools JSON logs and CloudWatch EMF metrics."""

from __future__ import annotations

import json
from typing import Any


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def emitted_metrics(text: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, dimensions) for every EMF document printed."""
    found = []
    for document in json_lines(text):
        emf = document.get("_aws")
        if not emf:
            continue
        for directive in emf["CloudWatchMetrics"]:
            dimension_names = {name for group in directive["Dimensions"] for name in group}
            dimensions = {name: str(document[name]) for name in dimension_names}
            for metric in directive["Metrics"]:
                found.append((metric["Name"], dimensions))
    return found
