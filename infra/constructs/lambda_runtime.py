"""The code and the dependencies layer every function shares, built without Docker.

The layer is `pip install --require-hashes --platform manylinux..._aarch64 --only-binary=:all:`
of `lambdas/requirements.lock` (every transitive dependency pinned with its hashes, resolved for
the Lambda runtime's Python and platform by `make lock`), run locally (an `ILocalBundling`), so
synth never needs Docker and two synths of one commit ship the same code. The layer's asset hash
covers the lock, the Python version, the platforms and the pip options, so changing any of them
builds a new layer. When bundling is skipped (`aws:cdk:bundling-stacks` set to `[]`, as in the
infra tests) no package index is needed either.

Both assets ship Python 3.14 bytecode (`infra.bytecode`): pip installs with `--no-compile` because
the machine's Python is not Lambda's, then pyodide's 3.14 compiles every source into an
unchecked-hash pyc, so no cold start compiles anything. The compile options and the compiler are
part of both assets' hashes; a build that cannot compile everything fails instead of shipping.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.bytecode import compile_fingerprint, compile_for_lambda

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
LOCK_FILE = LAMBDAS_DIR / "requirements.lock"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.14"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# Exactly the locked files, for this interpreter and platform, nothing resolved at build time.
PIP_OPTIONS = (
    "--require-hashes",
    "--no-deps",
    *(f"--platform={platform}" for platform in PLATFORMS),
    "--implementation=cp",
    f"--python-version={PYTHON_VERSION}",
    "--only-binary=:all:",
    "--no-compile",
)
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "requirements.*", ".mypy_cache"]
# The same exclusions, for the copy the code bundling compiles.
CODE_IGNORED = ("__pycache__", "*.pyc", "requirements.*", ".mypy_cache")
# Where each asset is on Lambda: the names tracebacks show.
LAYER_PATH = "/opt/python"
CODE_PATH = "/var/task"
# Required by the API, never pulled: local bundling always answers.
BUILD_IMAGE = DockerImage.from_registry("public.ecr.aws/sam/build-python3.14")


def pip_install_command(lock: Path, target: Path) -> list[str]:
    """The pip call that builds the layer's `python/` folder for Lambda (arm64, cp314)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return [*command, "--requirement", str(lock), "--target", str(target), *PIP_OPTIONS]


def layer_asset_hash(lock: Path) -> str:
    """What the layer's content depends on: the lock, everything pip is told about the runtime
    it installs for, and how its bytecode is compiled."""
    digest = hashlib.sha256(lock.read_bytes())
    digest.update("\0".join(PIP_OPTIONS).encode())
    digest.update(compile_fingerprint().encode())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    def __init__(self, lock: Path) -> None:
        self._lock = lock

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        target = Path(output_dir) / "python"
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            pip_install_command(self._lock, target),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            # Never fall back to Docker: say what pip said instead.
            raise RuntimeError(f"building the dependencies layer failed:\n{result.stderr[-4000:]}")
        for cache in target.rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
        compile_for_lambda(target, LAYER_PATH)
        return True


@jsii.implements(ILocalBundling)
class CompiledCodeBundling:
    """The handlers' code as it is in `lambdas/`, plus its Python 3.14 bytecode."""

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        target = Path(output_dir)
        ignored = shutil.ignore_patterns(*CODE_IGNORED)
        shutil.copytree(LAMBDAS_DIR, target, ignore=ignored, dirs_exist_ok=True)
        compile_for_lambda(target, CODE_PATH)
        return True


class LambdaRuntime(Construct):
    """The shared dependencies layer and the handlers' code asset."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="Powertools, pydantic, standardwebhooks, urllib3, boto3 (arm64, cp314)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(LAMBDAS_DIR),
                exclude=["*", f"!{LOCK_FILE.name}"],
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=layer_asset_hash(LOCK_FILE),
                bundling=BundlingOptions(image=BUILD_IMAGE, local=PipLayerBundling(LOCK_FILE)),
            ),
        )
        self.code = _code_asset(bundled=Stack.of(self).bundling_required)


def _code_asset(*, bundled: bool) -> lambda_.AssetCode:
    """The handlers' code with its bytecode. A synth that skips bundling (the infra tests, the
    local runtime) stages the sources as they are, as before: nothing runs Lambda's Python there."""
    if not bundled:
        return lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=CODE_EXCLUDES)
    # Hashed from the sources (same exclusions) and the bundling options, which carry the
    # compile fingerprint: new compile options or a new pyodide ship new code.
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        exclude=CODE_EXCLUDES,
        bundling=BundlingOptions(
            image=BUILD_IMAGE,
            local=CompiledCodeBundling(),
            environment={"BYTECODE_FINGERPRINT": compile_fingerprint()},
        ),
    )
