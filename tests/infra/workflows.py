"""The GitHub workflows, read as YAML: the jobs, their steps, permissions and needs, and what a
step input stands for. Offline and fast."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

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
