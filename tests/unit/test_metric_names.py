"""One list of metric names (`shared.metric_names.Metric`): the functions emit only its members,
by member, and every member is emitted somewhere, so the dashboard and alarms built from the list
watch exactly what the code sends."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from shared.metric_names import Metric

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
DEFINITION = LAMBDAS / "shared" / "metric_names.py"
# The calls that name a metric: shared.metrics' helpers and Powertools' own.
EMITTERS = {"count", "count_many", "record", "add_metric", "single_metric"}


def _modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(LAMBDAS.rglob("*.py")):
        if path != DEFINITION:
            yield path, ast.parse(path.read_text(), filename=str(path))


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _named_metric(call: ast.Call) -> ast.expr | None:
    """The expression an emitter is given as the metric's name."""
    for keyword in call.keywords:
        if keyword.arg == "name":
            return keyword.value
    return call.args[0] if call.args else None


def test_no_function_names_a_metric_with_a_string_literal() -> None:
    # Given every call in lambdas/ that emits a metric
    literals = []
    for path, module in _modules():
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and _called_name(node) in EMITTERS:
                name = _named_metric(node)
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    literals.append(f"{path.relative_to(LAMBDAS)}:{node.lineno} {name.value!r}")
    # Then none spells its name out: each is a Metric member
    assert literals == []


def test_no_metric_name_is_written_out_anywhere_but_in_its_list() -> None:
    names = {metric.value for metric in Metric}
    spelled = [
        f"{path.relative_to(LAMBDAS)}:{node.lineno} {node.value!r}"
        for path, module in _modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert spelled == []


def test_every_metric_in_the_list_is_emitted_by_some_function() -> None:
    # Given every `Metric.X` the functions refer to (to emit it, or to hand it to what does)
    used = {
        node.attr
        for _, module in _modules()
        for node in ast.walk(module)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Metric"
    }
    # Then no member is charted or alarmed on without a function sending it
    assert sorted(set(Metric.__members__) - used) == []
    assert sorted(used - set(Metric.__members__)) == []
