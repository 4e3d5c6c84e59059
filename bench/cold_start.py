"""Cold start: importing each handler in a fresh interpreter, as deployed before (no bytecode:
every import compiles) and as deployed now (the unchecked-hash pycs the build ships), each
against the floor (`import boto3; from aws_lambda_powertools import Logger`) measured the same
way in the same run. Plus, from the real Python 3.14 build, how many sources carry their pyc."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.cold_trees import LAMBDAS_DIR, Coverage, HostTrees, Tree, host_trees, lambda_coverage
from bench.model import Row, Section

FLOOR = "import boto3; from aws_lambda_powertools import Logger"
FLOOR_NAME = "`import boto3; from aws_lambda_powertools import Logger`"
# What the standards oblige every handler to load on top of the floor: pydantic with one
# boundary model built as ours are (a constrained field and a validator: that is what pulls in
# pydantic.types, annotated_types and the validator machinery) and the Tracer on botocore (every
# function traced); the API functions also Powertools' REST resolver, the queue workers its batch
# utility. Measured so that the note can say how much of a handler's cost is ours and how much
# the mandated libraries'.
PYDANTIC = f"""{FLOOR}
from pydantic import BaseModel, Field, field_validator
class Boundary(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    @field_validator("id")
    @classmethod
    def _checked(cls, value: str) -> str:
        return value
"""
TRACER = f"{FLOOR}, Metrics, Tracer\nTracer(patch_modules=('botocore',))\n"
LIBRARIES = f"{TRACER}{PYDANTIC}"
API_LIBRARIES = f"{LIBRARIES}from aws_lambda_powertools.event_handler import APIGatewayRestResolver"
# The queue workers' records go through Powertools' batch utility (partial batch responses),
# imported before pydantic as the workers import it: after pydantic, it also builds its pydantic
# parser models (~70 ms), which none of ours uses.
WORKER_LIBRARIES = (
    f"{TRACER}from aws_lambda_powertools.utilities.batch import BatchProcessor\n{PYDANTIC}"
)


def _paused(statement: str) -> str:
    """The statement with the collector paused around it, as every handler pauses it
    (shared.startup): what a handler adds beyond these is its own code, not the pause's gain."""
    return f"import shared.startup\n{statement}\nshared.startup.loaded()\n"


# (statement key, row name): the libraries' rows, each against the floor.
LIBRARY_ROWS = (
    ("pydantic", "floor + pydantic, one boundary model (bytecode)"),
    ("tracer", "floor + Metrics + Tracer on botocore (bytecode)"),
    ("libraries", "floor + pydantic + Tracer (bytecode)"),
    ("api_libraries", "floor + pydantic + Tracer + REST resolver (bytecode)"),
    ("worker_libraries", "floor + pydantic + Tracer + batch utility (bytecode)"),
    ("libraries_paused", "floor + pydantic + Tracer, collector paused as a handler (bytecode)"),
    (
        "api_libraries_paused",
        "floor + pydantic + Tracer + REST resolver, collector paused as a handler (bytecode)",
    ),
    (
        "worker_libraries_paused",
        "floor + pydantic + Tracer + batch utility, collector paused as a handler (bytecode)",
    ),
)
API_HANDLERS = ("catalog_api", "erp_ingest", "ingest", "ops_api")
QUEUE_WORKERS = ("download_worker", "enrichment_worker", "erp_sync_worker", "processing_worker")
TARGET_RATIO, TARGET_MS = 1.5, 600.0
TARGET = "<= 1.5x floor and <= 600 ms"
QUICK_HANDLERS = ("ingest", "download_worker")
# What Lambda sets that the import path reads: with LAMBDA_TASK_ROOT the Tracer is enabled and
# patches botocore, as deployed. No settings: the handlers read them at the first invocation.
LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start-bench",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
    "POWERTOOLS_SERVICE_NAME": "cold-start-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "ColdStartBench",
}
_TIMED = """import sys, time
sys.path[:0] = [{code!r}, {layer!r}]
started = time.process_time()
{statement}
print((time.process_time() - started) * 1000)
"""


def handlers() -> list[str]:
    return sorted(path.parent.name for path in LAMBDAS_DIR.glob("*/handler.py"))


def _run(tree: Tree, statement: str, *flags: str) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages of this machine, only the stdlib and the two trees (as on Lambda);
    # -B: nothing written back, so "before" compiles at every run, as on read-only Lambda.
    code = _TIMED.format(code=str(tree.code), layer=str(tree.layer), statement=statement)
    env = {"PATH": os.environ.get("PATH", ""), "LAMBDA_TASK_ROOT": str(tree.code), **LAMBDA_ENV}
    result = subprocess.run(  # noqa: S603 - this interpreter, fixed flags
        [sys.executable, "-S", "-B", *flags, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tree.code,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{statement!r} failed to import:\n{result.stderr[-3000:]}")
    return result


def _import_ms(tree: Tree, statement: str) -> float:
    return float(_run(tree, statement).stdout.strip().splitlines()[-1])


def import_self_times(tree: Tree, statement: str, runs: int = 3) -> dict[str, float]:
    """Milliseconds per top-level package: its modules' own import time (`-X importtime`, self
    time, which includes building the models a module defines) summed; the fastest of `runs`."""
    fastest: dict[str, float] = {}
    for _ in range(runs):
        totals: dict[str, float] = defaultdict(float)
        for line in _run(tree, statement, "-X", "importtime").stderr.splitlines():
            parts = line.removeprefix("import time:").split("|")
            if len(parts) == 3 and parts[0].strip().isdigit():
                totals[parts[2].strip().split(".")[0]] += int(parts[0]) / 1000
        for package, ms in totals.items():
            fastest[package] = min(ms, fastest.get(package, ms))
    return fastest


def _import_note(tree: Tree, name: str, statement: str) -> str:
    totals = import_self_times(tree, statement)
    ours = {path.name for path in LAMBDAS_DIR.iterdir() if (path / "__init__.py").is_file()}
    top = sorted(totals.items(), key=lambda item: -item[1])[:5]
    listed = ", ".join(f"{pkg} {ms:.0f} ms" for pkg, ms in top)
    own = sum(ms for pkg, ms in totals.items() if pkg in ours)
    return (
        f"{name}: top-5 import costs now (self time per package): {listed}; our own packages "
        f"together {own:.0f} ms."
    )


def _fastest(trees: HostTrees, statements: dict[str, str], runs: int) -> dict[str, float]:
    """Fastest import time per (way, key). The rounds interleave every case, and the fastest
    round is kept: an import does the same work every time, and what this shared machine's
    neighbours add (cache and memory contention shows up as CPU time too) only ever adds, by up
    to a third between runs, enough to reorder a median of a few."""
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for way, tree in (("before", trees.before), ("now", trees.now)):
            for key, statement in statements.items():
                samples[f"{way}:{key}"].append(_import_ms(tree, statement))
    return {case: min(values) for case, values in samples.items()}


def _row(name: str, value: float, floor: float, *, targeted: bool) -> Row:
    ratio = value / floor
    return Row(
        name=name,
        value=round(value, 1),
        unit="ms",
        floor=round(floor, 1),
        floor_name=FLOOR_NAME,
        ratio=round(ratio, 2),
        target=TARGET if targeted else None,
        meets_target=(ratio <= TARGET_RATIO and value <= TARGET_MS) if targeted else None,
    )


def _against_old_floor(fastest: dict[str, float], names: list[str]) -> str:
    old_floor = fastest["before:floor"]
    ratios = [fastest[f"now:{name}"] / old_floor for name in names]
    return (
        f"Now against the floor as it was deployed (no bytecode, {old_floor:.0f} ms): "
        f"{min(ratios):.2f}-{max(ratios):.2f}x. The rows compare like with like: each way against "
        "the floor measured the same way."
    )


def _libraries_of(name: str) -> str:
    """The paused library row a handler is judged beside: both pause the collector alike."""
    if name in API_HANDLERS:
        return "api_libraries_paused"
    return "worker_libraries_paused" if name in QUEUE_WORKERS else "libraries_paused"


def _above_libraries(fastest: dict[str, float], names: list[str]) -> str:
    """How much each handler costs beyond the libraries it has to load: our own modules."""
    own = {name: fastest[f"now:{name}"] - fastest[f"now:{_libraries_of(name)}"] for name in names}
    listed = ", ".join(f"{name} {ms:+.0f} ms" for name, ms in own.items())
    budget = TARGET_RATIO * fastest["now:floor"]
    left = ", ".join(
        f"{what} {budget - fastest[f'now:{kind}']:.0f} ms"
        for kind, what in (
            ("libraries_paused", "a scheduled function"),
            ("worker_libraries_paused", "a queue worker"),
            ("api_libraries_paused", "an API function"),
        )
    )
    return (
        "Beyond the libraries each handler has to load (floor + pydantic + Tracer; the REST "
        "resolver for the API functions, the batch utility for the queue workers), with the "
        "collector paused in both, our own "
        f"modules and models cost: {listed}. The target ({TARGET_RATIO}x the floor, "
        f"{budget:.0f} ms) leaves our own code, once those libraries are loaded: {left}."
    )


def _import_section(trees: HostTrees, names: list[str], runs: int, quick: bool) -> Section:
    statements = {
        "floor": FLOOR,
        "pydantic": PYDANTIC,
        "tracer": TRACER,
        "libraries": LIBRARIES,
        "api_libraries": API_LIBRARIES,
        "worker_libraries": WORKER_LIBRARIES,
        "libraries_paused": _paused(LIBRARIES),
        "api_libraries_paused": _paused(API_LIBRARIES),
        "worker_libraries_paused": _paused(WORKER_LIBRARIES),
        **{name: f"import {name}.handler" for name in names},
    }
    fastest = _fastest(trees, statements, runs)
    rows = [
        Row(name="floor, no bytecode", value=round(fastest["before:floor"], 1), unit="ms"),
        Row(name="floor, with bytecode", value=round(fastest["now:floor"], 1), unit="ms"),
        *(_row(name, fastest[f"now:{key}"], fastest["now:floor"], targeted=False)
          for key, name in LIBRARY_ROWS),
    ]  # fmt: skip
    notes = [_against_old_floor(fastest, names), _above_libraries(fastest, names)]
    for name in names:
        before, now = fastest[f"before:{name}"], fastest[f"now:{name}"]
        rows.append(
            _row(
                f"{name}, deployed before (no bytecode)",
                before,
                fastest["before:floor"],
                targeted=False,
            )
        )
        rows.append(
            _row(f"{name}, deployed now (bytecode)", now, fastest["now:floor"], targeted=True)
        )
        if not quick:
            notes.append(_import_note(trees.now, name, statements[name]))
    return Section(
        key="cold_start",
        title="Cold import per handler, as deployed before and now, against the floor",
        method=(
            f"Each handler module and the floor imported in a fresh `python -S -B` (stdlib and "
            f"the two trees only, Lambda's variables set); the importing process's CPU time "
            f"around the import, the fastest of {runs} interleaved rounds."
        ),
        rows=rows,
        notes=[*_NOTES, *notes],
    )


_NOTES = [
    "CPU time, not wall time: this machine's 2 cores are shared with other jobs, whose load "
    "wall time would measure as well; an import is CPU-bound (files are in the page cache).",
    "Lambda runs CPython 3.14 (arm64); this machine has only 3.11, on which 3.14 pycs cannot "
    "load. The timed trees are the same build for this machine: the same lock installed by pip "
    "with --no-compile (before: as the layer shipped until now, every import compiles) and "
    "compiled by the same infra/pyc_compile.py in unchecked-hash mode (now: as the build ships).",
    "Why bytecode rather than the runtime's own boto3: the runtime's boto3 (after /opt/python on "
    "sys.path) has a version AWS picks and changes, that our lock cannot pin or hash and that "
    "this machine cannot check; AWS recommends bundling your own. Shipping our own boto3 with "
    "its bytecode keeps the pinned version and removes the compile cost, which was the whole "
    "difference (the runtime's copy is fast only because it ships pycs).",
    "Unchecked-hash pycs: CDK zips entries with a 1980 date, so timestamp pycs never validate; "
    "these are loaded without looking at the source (the code is read-only on Lambda).",
    "Every handler imports shared.startup first, which pauses the garbage collector until the "
    "handler's module is built (then freezes what exists and collects again): the collections "
    "an import sets off scan objects that live as long as the container. The first library rows "
    "run with the collector as Python starts it (what the libraries cost); the last three pause "
    "it as a handler does, and each handler's own cost is counted beyond those.",
    "The queue workers import the batch utility before pydantic, as its row does: after "
    "pydantic, it also builds its pydantic parser models (~70 ms), which none of ours uses.",
]


def _coverage_rows(coverage: list[Coverage]) -> list[Row]:
    return [
        Row(
            name=f"{item.what}: sources with a valid 3.14 pyc",
            value=item.with_pyc,
            unit="files",
            floor=item.sources,
            floor_name="sources in the asset",
            ratio=item.with_pyc / item.sources,
        )
        for item in coverage
    ]


def measure(quick: bool = False) -> list[Section]:
    names = list(QUICK_HANDLERS) if quick else handlers()
    with tempfile.TemporaryDirectory(prefix="cold-start-") as tmp:
        trees = host_trees(Path(tmp))
        imports = _import_section(trees, names, runs=1 if quick else 7, quick=quick)
    coverage = lambda_coverage(include_layer=not quick)
    built = Section(
        key="cold_start_bytecode",
        title="Python 3.14 bytecode in the assets the build ships",
        method=(
            "The assets built as synth builds them (pip for cp314/arm64, then pyodide's CPython "
            f"{coverage[0].python} compiling in unchecked-hash mode), then every .py checked for "
            "a pyc of magic 3627 with the unchecked-hash flags."
        ),
        rows=_coverage_rows(coverage),
        notes=[
            f"{c.what}: {c.with_pyc}/{c.sources} .py files have a 3627 unchecked-hash pyc"
            for c in coverage
        ]
        + (
            []
            if not quick
            else ["quick: the layer (pip for cp314, ~25 s) is built in full mode only"]
        ),
    )
    return [imports, built]
