"""The GitHub workflows' security: actions pinned to full commit SHAs with their version,
read-only tokens, and AWS credentials only from OIDC roles."""

from __future__ import annotations

import re

import pytest

from tests.infra.workflows import (
    CONFIGURE_AWS,
    DEPLOY,
    FULL_SHA,
    PULL_REQUEST,
    VERSION_COMMENT,
    WORKFLOWS,
    jobs,
    load,
    permissions,
    resolve,
    steps,
    triggers,
    uses_of,
    walk,
    workflow_files,
)


def test_the_repository_has_the_two_workflows() -> None:
    assert {DEPLOY, PULL_REQUEST} <= set(workflow_files())
    assert "pull_request" in triggers(load(PULL_REQUEST))
    deploy_on = triggers(load(DEPLOY))
    assert deploy_on["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in deploy_on


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
