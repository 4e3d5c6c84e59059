"""`python -m bench [--quick] [--only KEY ...]`: every bench module measured in one run, side by
side, then written down (bench/report.py).

A full run of every module writes bench/results.json, bench/results.md and the README's
performance block. A quick run (CI's smoke) or a partial one (`--only`) writes to bench/smoke/
(git-ignored) and leaves the README alone: its figures are not the ones to quote.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from bench.model import Section
from bench.report import Machine, Results, readme_block, replace_block, results_markdown

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
SMOKE_DIR = BENCH_DIR / "smoke"
README = ROOT / "README.md"
# In run order: cost prices what calls counted and local_e2e timed (cached within the run).
MODULES = ("cold_start", "calls", "batches", "local_e2e", "cost")

Measure = Callable[[bool], list[Section]]


@dataclass(frozen=True)
class Outputs:
    directory: Path
    readme: Path | None  # None: leave the README alone


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI's smoke: few repetitions")
    parser.add_argument("--only", nargs="+", choices=MODULES, metavar="KEY", help=str(MODULES))
    parser.add_argument("--out", type=Path, help="write here instead (the README is left alone)")
    return parser.parse_args(argv)


def load(key: str) -> Measure | None:
    """The module's `measure`, or None when the module does not exist. A module that exists
    but fails to import raises: that is a broken benchmark, not a missing one."""
    name = f"bench.{key}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise
    return cast(Measure, module.measure)


def machine() -> Machine:
    return Machine(
        cpu_count=os.cpu_count() or 1,
        python=platform.python_version(),
        platform=platform.platform(),
        date=datetime.now(UTC),
    )


def measure_all(keys: Sequence[str], quick: bool) -> Results:
    """Each module in turn, in this one process; a module that raises ends the run."""
    started = machine()
    sections: list[Section] = []
    skipped: list[str] = []
    for key in keys:
        measure = load(key)
        if measure is None:
            print(f"bench.{key}: no such module yet, skipped", file=sys.stderr, flush=True)
            skipped.append(key)
            continue
        print(f"bench.{key}: measuring…", file=sys.stderr, flush=True)
        began = time.monotonic()
        sections += measure(quick)
        print(f"bench.{key}: {time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)
    return Results(machine=started, quick=quick, sections=sections, skipped=skipped)


def outputs(args: argparse.Namespace) -> Outputs:
    if args.out is not None:
        return Outputs(args.out, None)
    if args.quick or args.only:
        return Outputs(SMOKE_DIR, None)
    return Outputs(BENCH_DIR, README)


def write(results: Results, where: Outputs) -> str:
    """Write the results; the markdown is returned for printing."""
    where.directory.mkdir(parents=True, exist_ok=True)
    (where.directory / "results.json").write_text(results.model_dump_json(indent=2) + "\n")
    markdown = results_markdown(results)
    (where.directory / "results.md").write_text(markdown)
    if where.readme is not None:
        where.readme.write_text(replace_block(where.readme.read_text(), readme_block(results)))
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    keys = [k for k in MODULES if k in args.only] if args.only else list(MODULES)
    where = outputs(args)
    results = measure_all(keys, args.quick)
    if results.skipped and where.readme is not None:
        where = Outputs(SMOKE_DIR, None)  # an incomplete run must not replace the quoted figures
        print("incomplete run: writing to bench/smoke/ only", file=sys.stderr)
    print(write(results, where))
    print(f"written to {where.directory}", file=sys.stderr)
    return 0
