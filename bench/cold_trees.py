"""The trees the cold-start benchmark imports from: the layer and the handlers' code, each as
deployed before (no bytecode at all) and as deployed now (unchecked-hash pycs, as the CDK build
ships them), built for this machine's Python; and the real Python 3.14 build, to count its pycs.

Lambda's 3.14 pycs cannot load on this machine's Python, so the timed trees are the same build
for the host: the same lock installed by pip with `--no-compile`, then compiled by the same
`infra/pyc_compile.py` in the same unchecked-hash mode. They are cached under `.local/` by
everything that decides their content, so a second run does not reinstall them.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra import bytecode, pyc_compile

ROOT = Path(__file__).resolve().parents[1]
LAMBDAS_DIR = ROOT / "lambdas"
LOCK_FILE = LAMBDAS_DIR / "requirements.lock"
CACHE_DIR = ROOT / ".local" / "bench" / "cold_start"
CODE_IGNORED = ("__pycache__", "*.pyc", "requirements.*", ".mypy_cache")


@dataclass(frozen=True)
class Tree:
    """What one way of deploying puts on `sys.path`: the code first, then the layer."""

    code: Path
    layer: Path


@dataclass(frozen=True)
class HostTrees:
    before: Tree  # no bytecode anywhere: every import compiles (and, with -B, writes nothing)
    now: Tree  # every source beside its unchecked-hash pyc


def _quiet_env() -> dict[str, str]:
    return {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONWARNINGS": "ignore"}


def _pip_install(target: Path, *platform_options: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps"]
    command += ["--require-hashes", "--only-binary=:all:", "--requirement", str(LOCK_FILE)]
    command += ["--target", str(target), *platform_options]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, capture_output=True, text=True, check=False, env=_quiet_env()
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"installing the layer for the benchmark failed:\n{result.stderr[-3000:]}"
        )


def _copy_code(target: Path) -> None:
    shutil.copytree(LAMBDAS_DIR, target, ignore=shutil.ignore_patterns(*CODE_IGNORED))


def _host_key() -> str:
    digest = hashlib.sha256(LOCK_FILE.read_bytes())
    digest.update(f"{sys.version}|{platform.machine()}".encode())
    digest.update(bytecode.compile_fingerprint().encode())
    return digest.hexdigest()[:16]


def _compile_on_host(folder: Path, deployed_as: str) -> None:
    report = pyc_compile.compile_tree(folder, deployed_as)
    tag, magic = sys.implementation.cache_tag, pyc_compile.magic_number()
    missing = pyc_compile.missing_bytecode(folder, tag, magic)
    if report["failures"] or missing:
        raise RuntimeError(f"host bytecode incomplete: {report['failures']} {missing[:5]}")


def host_layer() -> Path:
    """The lock installed for this machine's Python, without bytecode (cached)."""
    layer = CACHE_DIR / _host_key() / "layer"
    if not layer.is_dir():
        partial = layer.with_name("layer.partial")
        shutil.rmtree(partial, ignore_errors=True)
        _pip_install(partial)
        partial.rename(layer)
    return layer


def host_trees(workdir: Path) -> HostTrees:
    """Before and now, for this machine's Python; the code is copied fresh (it is small and
    changes with every commit), the layer comes from the cache."""
    layer = host_layer()
    compiled_layer = layer.with_name("layer-compiled")
    if not compiled_layer.is_dir():
        partial = layer.with_name("layer-compiled.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(layer, partial)
        _compile_on_host(partial, "/opt/python")
        partial.rename(compiled_layer)
    code_before, code_now = workdir / "code-before", workdir / "code-now"
    _copy_code(code_before)
    _copy_code(code_now)
    _compile_on_host(code_now, "/var/task")
    return HostTrees(before=Tree(code_before, layer), now=Tree(code_now, compiled_layer))


@dataclass(frozen=True)
class Coverage:
    what: str  # "code asset", "layer"
    sources: int
    with_pyc: int
    python: str  # the interpreter that compiled them


def lambda_coverage(include_layer: bool) -> list[Coverage]:
    """Build the assets' bytecode as the CDK build does (pyodide's 3.14) and count the sources
    that carry a valid 3.14 unchecked-hash pyc. A failed compile raises, as it does in synth."""
    results = []
    with tempfile.TemporaryDirectory(prefix="cold-314-") as tmp:
        folders = {"code asset": (Path(tmp) / "code", "/var/task")}
        _copy_code(folders["code asset"][0])
        if include_layer:
            os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
            from infra.constructs.lambda_runtime import PIP_OPTIONS  # the layer's own pip options

            folders["layer"] = (Path(tmp) / "python", "/opt/python")
            _pip_install(folders["layer"][0], *PIP_OPTIONS)
        for what, (folder, deployed_as) in folders.items():
            report = bytecode.compile_for_lambda(folder, deployed_as)
            sources = len(pyc_compile.sources(folder))
            missing = pyc_compile.missing_bytecode(folder, bytecode.CACHE_TAG, bytecode.MAGIC)
            results.append(Coverage(what, sources, sources - len(missing), report.python))
    return results
