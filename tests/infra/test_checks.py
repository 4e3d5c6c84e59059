"""cdk-nag and cfn-lint on every environment's template; synth errors a user can read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint

from infra.constructs.lambda_runtime import PYTHON_VERSION, pip_install_command
from tests.infra.conftest import ENVS, ROOT, Synth, cdk_context


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


def test_the_layer_is_built_for_lambda_arm64_without_docker(tmp_path: Path) -> None:
    command = pip_install_command(tmp_path / "requirements.txt", tmp_path / "python")
    assert command[:3] == [sys.executable, "-m", "pip"]
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert "manylinux2014_aarch64" in platforms
    assert "--only-binary=:all:" in command
    assert command[command.index("--python-version") + 1] == PYTHON_VERSION == "3.14"
    assert command[command.index("--target") + 1] == str(tmp_path / "python")
