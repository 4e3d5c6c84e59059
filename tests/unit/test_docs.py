"""The docs stay true: the README stays short, every link lands, the configuration page lists
exactly the keys the config model has, and the pages name only metrics the code emits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from infra.config import EnvironmentSettings, Functions, Queues
from shared.metric_names import Metric

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
# Every custom metric belongs to one of these families; a backticked name of this shape that is
# not a Metric is a metric the docs invented (or one the code stopped emitting).
_METRIC_SHAPE = re.compile(
    r"`((?:Webhook|Order|Erp|Enrichment|Provider|Stuck|Marketplace|Internal|Catalog)[A-Z]\w*)`"
)
# Backticked names of these families that are not metrics.
_NOT_METRICS = {"ErpSyncWorker"}


def _prose(page: Path) -> str:
    """The page without its fenced code blocks (diagrams and shell examples hold no links)."""
    return _FENCE.sub("", page.read_text())


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in _HEADING.findall(_prose(page))}


def test_the_readme_is_at_most_150_lines() -> None:
    # Given the README, when it is counted, then a newcomer reads it in one sitting
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_the_readme_opens_with_the_two_commands() -> None:
    # Given the README, then `make demo` and `make test` come before line 20
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:20])
    assert "make demo" in head
    assert "make test" in head


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    # Given a page, when each relative link is followed, then its file and heading exist
    broken = []
    for target in _LINK.findall(_prose(page)):
        if re.match(r"^[a-z]+:", target):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert broken == []


def _model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every leaf key of a config model, with one placeholder for the function and queue names."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        if annotation is Functions:
            keys |= _model_keys(_field_model(Functions), f"{prefix}{name}.<function>.")
        elif annotation is Queues:
            keys |= _model_keys(_field_model(Queues), f"{prefix}{name}.<queue>.")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= _model_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def _field_model(container: type[BaseModel]) -> type[BaseModel]:
    """The one model every field of a named-entities container (functions, queues) has."""
    (model,) = {field.annotation for field in container.model_fields.values()}
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model


def _documented_keys(page: str) -> set[str]:
    """The keys in the first column of the reference table (the page's first section; the later
    sections tabulate per-function and per-queue values); `.x` continues the previous key."""
    keys: set[str] = set()
    reference = page.split("\n## ", 1)[0]
    for row in re.findall(r"^\| (`[^|]+) \|", reference, re.MULTILINE):
        parent = ""
        for key in re.findall(r"`([^`]+)`", row):
            if key.startswith("."):
                keys.add(parent + key[1:])
            else:
                keys.add(key)
                parent = key.rpartition(".")[0] + "." if "." in key else ""
    return keys


def test_the_configuration_page_lists_exactly_the_config_models_keys() -> None:
    # Given docs/configuration.md and the config model
    page = (ROOT / "docs" / "configuration.md").read_text()
    documented = _documented_keys(page)
    expected = _model_keys(EnvironmentSettings)
    # Then every key is documented and every documented key exists
    assert sorted(expected - documented) == []
    assert sorted(documented - expected) == []
    # And every function and queue is named on the page
    names = set(Functions.model_fields) | set(Queues.model_fields)
    assert sorted(n for n in names if f"`{n}`" not in page) == []


def test_every_metric_the_pages_name_is_one_the_code_emits() -> None:
    # Given every page, when the metric-shaped names are collected
    named = {
        name
        for page in PAGES
        for name in _METRIC_SHAPE.findall(_prose(page))
        if name not in _NOT_METRICS
    }
    # Then each is a Metric
    assert sorted(named - {m.value for m in Metric}) == []


def test_every_metric_is_documented_for_operators() -> None:
    # Given the operations page, then it names every metric the functions emit
    page = (ROOT / "docs" / "operations.md").read_text()
    assert sorted(m.value for m in Metric if f"`{m.value}`" not in page) == []
