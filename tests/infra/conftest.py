"""Synthesizes each environment once (no bundling: no Docker, no package index needed)."""

from __future__ import annotations

import pytest

from tests.infra.synthesis import ENVS, Synth, synthesize


@pytest.fixture(scope="session")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    return {env: synthesize(env, tmp_path_factory.mktemp(f"cdk-{env}")) for env in ENVS}


@pytest.fixture(params=ENVS)
def synth(request: pytest.FixtureRequest, synths: dict[str, Synth]) -> Synth:
    """Each env's synthesized app, one test per env."""
    return synths[request.param]
