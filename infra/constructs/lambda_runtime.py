"""The code and the dependencies layer every function shares, built without Docker.

The layer is `pip install --require-hashes --platform manylinux..._aarch64 --only-binary=:all:`
of `lambdas/requirements.lock` (every transitive dependency pinned with its hashes, resolved for
the Lambda runtime's Python and platform by `make lock`), run locally (an `ILocalBundling`), so
synth never needs Docker and two synths of one commit ship the same code. The layer's asset hash
covers the lock, the Python version, the platforms and the pip options, so changing any of them
builds a new layer. When bundling is skipped (`aws:cdk:bundling-stacks` set to `[]`, as in the
infra tests) no package index is needed either.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

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


def pip_install_command(lock: Path, target: Path) -> list[str]:
    """The pip call that builds the layer's `python/` folder for Lambda (arm64, cp314)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    return [*command, "--requirement", str(lock), "--target", str(target), *PIP_OPTIONS]


def layer_asset_hash(lock: Path) -> str:
    """What the layer's content depends on: the lock and everything pip is told about the
    runtime it installs for."""
    digest = hashlib.sha256(lock.read_bytes())
    digest.update("\0".join(PIP_OPTIONS).encode())
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
                bundling=BundlingOptions(
                    # Required by the API, never pulled: local bundling always answers.
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
                    local=PipLayerBundling(LOCK_FILE),
                ),
            ),
        )
        self.code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=CODE_EXCLUDES)
