"""The dev stack's synthesized template, made once per test session as the local runtime makes
it (`local.synth`), for the integration suite to provision moto from and the e2e suite's runtime
to run.

Synthesis takes tens of seconds, so it happens once per session in a directory every
pytest-xdist worker of that session shares: the first worker to ask synthesizes under a file
lock, the others wait on the lock and read what it wrote.
"""

from __future__ import annotations

import fcntl
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from infra.config import load_settings
from local.synth import environments, load_template
from local.template import StackTemplate

ENV = "dev"
REGION = "us-east-1"


def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this test session that all its xdist workers share (each worker's own
    base temp is a child of the session's; without xdist the base temp is the session's)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def synthesized(shared_dir: Path) -> Path:
    """The cdk.out of the dev stack in `shared_dir`, synthesized by the first caller."""
    state_dir = shared_dir / f"synth-{ENV}"
    done = state_dir / "synthesized"
    with (shared_dir / f"synth-{ENV}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also on a failure
        if not done.exists():
            state_dir.mkdir(parents=True, exist_ok=True)
            load_template(ENV, None, state_dir, REGION)
            done.touch()
    return state_dir / "cdk.out"


def stack_name() -> str:
    return load_settings(environments(), ENV).stack_name


@cache
def _raw_template(cdk_out: Path) -> Any:
    return json.loads((cdk_out / f"{stack_name()}.template.json").read_text())


def fresh_template(cdk_out: Path) -> StackTemplate:
    """The template with nothing provisioned yet. The parsed JSON is shared: provisioning and
    resolving read it and never change it; each test gets its own physical resources."""
    return StackTemplate(
        _raw_template(cdk_out), stack_name=stack_name(), region=REGION, root=cdk_out
    )
