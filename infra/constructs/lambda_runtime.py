"""The code and the dependencies layer every function shares, built without Docker.

The layer is `pip install --platform manylinux..._aarch64 --only-binary=:all:` of
`lambdas/requirements.txt`, run locally (an `ILocalBundling`), so synth never needs Docker. When
bundling is skipped (`aws:cdk:bundling-stacks` set to `[]`, as in the infra tests) no package
index is needed either.
"""

from __future__ import annotations

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
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.14"
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "requirements.txt", ".mypy_cache"]


def pip_install_command(requirements: Path, target: Path) -> list[str]:
    """The pip call that builds the layer's `python/` folder for Lambda (arm64, cp314)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--requirement", str(requirements), "--target", str(target)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    command += ["--implementation", "cp", "--python-version", PYTHON_VERSION]
    command += ["--only-binary=:all:", "--no-compile", "--upgrade"]
    return command


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *_: Any, **__: Any) -> bool:
        target = Path(output_dir) / "python"
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            pip_install_command(self._requirements, target),
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
        requirements = LAMBDAS_DIR / "requirements.txt"
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="Powertools, pydantic, standardwebhooks, urllib3, boto3 (arm64, cp314)",
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(LAMBDAS_DIR),
                exclude=["*", "!requirements.txt"],
                asset_hash_type=AssetHashType.SOURCE,
                bundling=BundlingOptions(
                    # Required by the API, never pulled: local bundling always answers.
                    image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
                    local=PipLayerBundling(requirements),
                ),
            ),
        )
        self.code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=CODE_EXCLUDES)
