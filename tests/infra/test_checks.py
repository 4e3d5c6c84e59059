"""cdk-nag and cfn-lint on every environment's template; synth errors a user can read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from infra.constructs.lambda_runtime import (
    LOCK_FILE,
    PIP_OPTIONS,
    PYTHON_VERSION,
    layer_asset_hash,
    pip_install_command,
)
from tests.infra.synthesis import ENVS, ROOT, Synth, cdk_context


@pytest.mark.parametrize("env", ENVS)
def test_cdk_nag_has_no_unacknowledged_findings(synths: dict[str, Synth], env: str) -> None:
    [nag] = [r for r in synths[env].report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success"
    assert nag["violations"] == []


@pytest.mark.parametrize("env", ENVS)
def test_every_acknowledgment_is_granular_and_explained(synths: dict[str, Synth], env: str) -> None:
    [nag] = [r for r in synths[env].report["pluginReports"] if r["pluginName"] == "AwsSolutions"]
    suppressed = nag["suppressedViolations"]
    assert suppressed, "expected the documented acknowledgments"
    for finding in suppressed:
        assert len(finding["reason"]) >= 40, finding["acknowledgedId"]
        # An acknowledgment sits on the resource (or its parent), never on the whole stack,
        # except the payload-prefix finding, which names one exact resource pattern.
        scope = finding["acknowledgedAt"]
        assert scope != f"WebhookPipeline-{env}" or "[Resource::" in finding["acknowledgedId"]
        if finding["ruleName"] in ("AwsSolutions-IAM4", "AwsSolutions-IAM5"):
            assert "[" in finding["acknowledgedId"], "IAM findings are acknowledged one by one"


@pytest.mark.parametrize("env", ENVS)
def test_cfn_lint_finds_no_errors(synths: dict[str, Synth], env: str) -> None:
    matches = lint(json.dumps(synths[env].raw), config=ManualArgs(regions=["us-east-1"]))
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    assert errors == []


def _run_app(context: dict[str, object], outdir: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(  # noqa: S603 - our own app, fixed argv
        [sys.executable, str(ROOT / "app.py")],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_an_unknown_env_fails_synth_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_app({**cdk_context(), "env": "qa"}, tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: unknown environment 'qa': valid names are dev, prod, staging"
    )


def test_the_layer_is_built_for_lambda_arm64_without_docker_from_the_lock(tmp_path: Path) -> None:
    command = pip_install_command(LOCK_FILE, tmp_path / "python")
    assert command[:3] == [sys.executable, "-m", "pip"]
    assert "--platform=manylinux2014_aarch64" in command
    assert "--only-binary=:all:" in command
    assert f"--python-version={PYTHON_VERSION}" in command
    assert PYTHON_VERSION == "3.14"
    # Exactly what the lock says: hashes checked, nothing resolved at build time
    assert {"--require-hashes", "--no-deps"} <= set(command)
    assert command[command.index("--requirement") + 1] == str(LOCK_FILE)
    assert command[command.index("--target") + 1] == str(tmp_path / "python")


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]+\])?==([^ ;\\]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins


def test_the_lock_pins_every_direct_dependency_at_its_version_with_hashes() -> None:
    direct = _pins((LOCK_FILE.parent / "requirements.txt").read_text())
    locked_text = LOCK_FILE.read_text()
    locked = _pins(locked_text)
    # Given the direct pins, Then the lock has each at the same version (run `make lock`)
    assert {name: locked.get(name) for name in direct} == direct
    # And every locked distribution carries at least one sha256 hash
    entries = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", locked_text.strip())
    assert len(entries) == len(locked) > len(direct)
    assert all("--hash=sha256:" in entry for entry in entries)


def test_the_layers_asset_hash_covers_the_lock_and_the_runtime(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text(LOCK_FILE.read_text())
    before = layer_asset_hash(lock)
    lock.write_text(LOCK_FILE.read_text() + "\n")
    assert layer_asset_hash(lock) != before
    lock.write_text(LOCK_FILE.read_text())
    assert layer_asset_hash(lock) == before
    # The Python version and platform are part of what is hashed
    assert any(PYTHON_VERSION in option for option in PIP_OPTIONS)
    assert any("aarch64" in option for option in PIP_OPTIONS)
