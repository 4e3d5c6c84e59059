"""Bytecode for Lambda's Python 3.14, built on a machine that has no Python 3.14.

Lambda runs CPython 3.14 on arm64; bytecode does not depend on the platform, only on the
interpreter's version (its magic number), so the 3.14 of pyodide (CPython compiled to WASM, an
npm package pinned in package.json, run by Node) writes the same pycs Lambda's would. They are
unchecked-hash pycs (`infra/pyc_compile.py` says why), compiled with a fixed hash seed so that two
builds of one commit are byte-identical. Everything that decides their content is in
`COMPILE_OPTIONS`, which the assets' hashes cover. A build that leaves any source without its pyc
fails: shipping without bytecode would silently cost every cold start its compile time again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from infra import pyc_compile

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("compile_bytecode.mjs")
PYODIDE_PACKAGE = ROOT / "node_modules" / "pyodide" / "package.json"
TARGET_PYTHON = "3.14"
MAGIC = 3627  # CPython 3.14.x; a pyc of another magic is ignored and recompiled
CACHE_TAG = "cpython-314"
COMPILE_OPTIONS = (
    f"python={TARGET_PYTHON}",
    f"magic={MAGIC}",
    "invalidation=unchecked-hash",
    "optimize=0",
    "pythonhashseed=0",
    f"compiler={SCRIPT.name}",
)


def compile_fingerprint() -> str:
    """Everything that decides the pycs' bytes besides the sources: the options, the pinned
    pyodide (package.json) and the compile step's own code. Asset hashes include it."""
    digest = hashlib.sha256("\0".join(COMPILE_OPTIONS).encode())
    pins = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    digest.update(f"pyodide=={pins['pyodide']}".encode())
    for step in (SCRIPT, Path(pyc_compile.__file__)):
        digest.update(step.read_bytes())
    return digest.hexdigest()


class BytecodeError(RuntimeError):
    """The bytecode could not be built or is incomplete: the asset must not ship."""


class CompileReport(BaseModel):
    """What `compile_bytecode.mjs` prints: the interpreter it ran and what it compiled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    python: str
    magic: int
    cache_tag: str
    hash_randomization: int
    pythonhashseed: str | None
    compiled: int
    failures: dict[str, str]


def compile_command(folder: Path, deployed_as: str) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise BytecodeError("node is not on PATH: it runs pyodide, which compiles the bytecode")
    return [node, str(SCRIPT), str(folder), deployed_as]


def compile_for_lambda(folder: Path, deployed_as: str) -> CompileReport:
    """Write 3.14 unchecked-hash pycs beside every `.py` under `folder`; raise unless every
    source has one. `deployed_as`: where `folder` is on Lambda (`/opt/python`, `/var/task`)."""
    if not PYODIDE_PACKAGE.is_file():
        raise BytecodeError(f"{PYODIDE_PACKAGE.parent} is missing: run `make install` (npm ci)")
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        compile_command(folder, deployed_as),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    try:
        report = CompileReport.model_validate(json.loads(result.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError) as error:
        raise BytecodeError(f"compiling bytecode failed:\n{result.stderr[-4000:]}") from error
    _check(report, folder)
    return report


def _check(report: CompileReport, folder: Path) -> None:
    if report.failures:
        failed = "\n".join(f"{path}: {why}" for path, why in sorted(report.failures.items()))
        raise BytecodeError(
            f"{len(report.failures)} files do not compile on {report.python}:\n{failed}"
        )
    if (report.magic, report.cache_tag, report.hash_randomization) != (MAGIC, CACHE_TAG, 0):
        raise BytecodeError(
            f"compiled by {report.python} (magic {report.magic}, {report.cache_tag}, hash "
            f"randomization {report.hash_randomization}): not a reproducible {TARGET_PYTHON} build"
        )
    missing = pyc_compile.missing_bytecode(folder, CACHE_TAG, MAGIC)
    if missing:
        raise BytecodeError(f"{len(missing)} sources have no {CACHE_TAG} pyc: {missing[:10]}")
