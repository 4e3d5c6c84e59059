"""Drift kept out by tests: every metric the functions emit is charted, alarms and the runbook
name only metrics the functions emit, and every config key reaches the stack or its code."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from infra.config import LOG_RETENTION_DAYS, EnvironmentSettings
from infra.constructs.log_groups import RETENTION_DAY_VALUES
from shared.metric_names import Metric
from tests.infra.synthesis import ROOT, Synth

EMITTED = {metric.value for metric in Metric}
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()
VALIDATORS = {"field_validator", "model_validator"}


def charted_metrics(synth: Synth) -> set[str]:
    """Every custom metric the dashboard charts: by SEARCH expression, or as a metric of the
    env's namespace (the watched metrics)."""
    body = synth.dashboard_body()
    namespace = re.escape(f"WebhookPipeline/{synth.env}")
    searched = re.findall(rf'\{{{namespace},[\w,]+\}} MetricName=\\"(\w+)\\"', body)
    listed = re.findall(rf'\["{namespace}","(\w+)"', body)
    return set(searched) | set(listed)


def test_every_metric_the_functions_emit_is_charted(synth: Synth) -> None:
    assert EMITTED - charted_metrics(synth) == set()


def test_the_dashboard_charts_only_metrics_the_functions_emit(synth: Synth) -> None:
    assert charted_metrics(synth) - EMITTED == set()


def test_every_alarm_on_a_custom_metric_watches_one_the_functions_emit(synth: Synth) -> None:
    namespace = f"WebhookPipeline/{synth.env}"
    watched = set()
    for name, alarm in synth.alarms().items():
        stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m]
        if "MetricName" in alarm:
            stats.append(alarm)
        for stat in stats:
            if stat["Namespace"] == namespace:
                assert stat["MetricName"] in EMITTED, name
                watched.add(stat["MetricName"])
    assert watched  # the business-metric alarms are among them


def test_every_metric_the_runbook_sends_operators_to_is_emitted_and_charted(
    synth: Synth,
) -> None:
    named = set(re.findall(r"Dashboard → `(\w+)`", RUNBOOK))
    assert named, "the runbook names dashboard metrics as Dashboard → `Name`"
    assert named <= EMITTED
    assert named <= charted_metrics(synth)


def test_the_log_retention_values_are_the_ones_cloudwatch_takes_in_both_places() -> None:
    assert RETENTION_DAY_VALUES == LOG_RETENTION_DAYS


# --- Every config key reaches the stack or the functions ---------------------------------------


def _sources() -> list[Path]:
    return [*sorted((ROOT / "infra").rglob("*.py")), ROOT / "app.py"]


def _is_validator(node: ast.FunctionDef) -> bool:
    def name(decorator: ast.expr) -> str:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        return target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")

    return any(name(d) in VALIDATORS for d in node.decorator_list)


def _reads(tree: ast.AST) -> Iterator[tuple[str, bool]]:
    """(attribute, passed on whole) for every attribute read outside the config's validators
    (a key only a validator reads is checked but reaches nothing); `x.model_dump_json()` and
    `x.model_dump()` pass every key of `x` on."""
    if isinstance(tree, ast.FunctionDef) and _is_validator(tree):
        return
    if isinstance(tree, ast.Attribute):
        whole = tree.attr in ("model_dump_json", "model_dump")
        if whole and isinstance(tree.value, ast.Attribute):
            yield tree.value.attr, True
        yield tree.attr, False
    for child in ast.iter_child_nodes(tree):
        yield from _reads(child)


def _keys(model: type[BaseModel], whole: set[str], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, its own name) for every key of `model`, into nested models unless passed
    on whole."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if name not in whole:
                yield from _keys(annotation, whole, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", name


def test_every_config_key_is_read_by_the_stack_or_passed_to_the_functions() -> None:
    # By name: a key counts as read when some infra module reads an attribute of that name
    # (not only a validator), or passes its model on whole. Coarse, but a key nothing reads,
    # like enrichment.max_products before it reached the catalog API, fails here.
    reads = [read for path in _sources() for read in _reads(ast.parse(path.read_text()))]
    names = {name for name, _ in reads}
    whole = {name for name, passed_whole in reads if passed_whole}
    unread = [key for key, name in _keys(EnvironmentSettings, whole) if name not in names]
    assert unread == []
