"""`shared.startup`: every handler's cold start runs with the garbage collector paused and ends
with it running again, its objects frozen out of later collections."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
HANDLERS = sorted(path.parent.name for path in LAMBDAS.glob("*/handler.py"))
_PROBE = """import gc, json, sys
sys.path.insert(0, {lambdas!r})
import {name}.handler
print(json.dumps({{
    "enabled": gc.isenabled(),
    "frozen": gc.get_freeze_count(),
    "full_collections": gc.get_stats()[2]["collections"],
}}))
"""


@pytest.mark.parametrize("name", HANDLERS)
def test_a_handler_imports_without_a_collection_and_leaves_the_collector_running(
    name: str,
) -> None:
    # When the handler is imported in a fresh interpreter, as a cold start does
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed args
        [sys.executable, "-c", _PROBE.format(lambdas=str(LAMBDAS), name=name)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "POWERTOOLS_TRACE_DISABLED": "true"},
    )
    state = json.loads(result.stdout.strip().splitlines()[-1])

    # Then no full collection scanned its objects, which are frozen, and the collector runs again
    assert state["full_collections"] == 0, state
    assert state["frozen"] > 10_000, state
    assert state["enabled"] is True, state


@pytest.mark.parametrize("name", HANDLERS)
def test_a_handler_pauses_the_collector_first_and_resumes_it_last(name: str) -> None:
    module = ast.parse((LAMBDAS / name / "handler.py").read_text())
    imports = [n for n in module.body if isinstance(n, ast.Import | ast.ImportFrom)]
    after_future = [
        n for n in imports if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
    ]

    assert ast.unparse(after_future[0]) == "import shared.startup"
    assert ast.unparse(module.body[-1]) == "shared.startup.loaded()"
