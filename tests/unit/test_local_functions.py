"""Function pools: execution environments (real processes) started on demand up to the pool's
size, one invoke in each at a time, crashes and timeouts handled per process; and the pool
sizes the runtime derives from the template."""

from __future__ import annotations

import os
import signal
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.event_sources import EventSourceMapping
from local.function_host import FunctionSpec
from local.function_specs import function_pool_sizes
from local.functions import FunctionPool, InvocationError, pool_size
from local.template import StackTemplate

HANDLERS = """
import os
import pathlib
import time

if pathlib.Path(__file__).with_name("broken").exists():
    raise ImportError("this environment cannot initialise")


def handle(event, context):
    started = time.time()
    if event["do"] == "barrier":  # wait until `parties` invokes are running at once
        folder = pathlib.Path(event["folder"])
        (folder / context.aws_request_id).touch()
        deadline = time.time() + event.get("wait", 30)
        while len(list(folder.iterdir())) < event["parties"] and time.time() < deadline:
            time.sleep(0.01)
    elif event["do"] == "sleep":
        time.sleep(event["seconds"])
    elif event["do"] == "crash":
        os._exit(3)
    seen = len(list(pathlib.Path(event["folder"]).iterdir())) if "folder" in event else 0
    return {"pid": os.getpid(), "start": started, "end": time.time(), "seen": seen}
"""


def spec(tmp_path: Path, timeout_seconds: int = 60) -> FunctionSpec:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    return FunctionSpec(
        logical_id="Fake",
        name="fake",
        handler="handlers.handle",
        code_dir=code,
        environment={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout_seconds=timeout_seconds,
        memory_mb=128,
        log_file=tmp_path / "fake.log",
    )


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    started: list[FunctionPool] = []
    yield started
    for pool in started:
        pool.stop(grace_seconds=0)


def started_pool(pools: list[FunctionPool], function: FunctionSpec, size: int) -> FunctionPool:
    pool = FunctionPool(function, size)
    pool.start()
    pools.append(pool)
    return pool


def invoke_at_once(pool: FunctionPool, events: list[dict[str, Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(events)) as threads:
        return list(threads.map(pool.invoke, events))


def barrier(tmp_path: Path, parties: int, name: str = "barrier") -> dict[str, Any]:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    return {"do": "barrier", "folder": str(folder), "parties": parties}


def most_at_once(results: list[dict[str, Any]]) -> int:
    return max(sum(bool(r["start"] <= t["start"] < r["end"]) for r in results) for t in results)


def test_the_pool_grows_to_its_size_and_runs_invokes_in_parallel(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path), size=4)
    assert len(pool.pids) == 1  # one environment until invokes need more

    results = invoke_at_once(pool, [barrier(tmp_path, parties=4)] * 4)

    assert [r["seen"] for r in results] == [4] * 4  # each saw all four running at once
    assert max(r["start"] for r in results) < min(r["end"] for r in results)  # they overlap
    assert len({r["pid"] for r in results}) == 4
    assert sorted(pool.pids) == sorted(r["pid"] for r in results)
    assert pool.max_in_flight == 4


def test_past_its_size_invokes_wait_for_a_free_environment(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path), size=2)

    results = invoke_at_once(pool, [{"do": "sleep", "seconds": 0.2}] * 6)

    assert len({r["pid"] for r in results}) == 2
    assert most_at_once(results) == 2
    assert pool.max_in_flight == 2
    assert len(pool.pids) == 2
    assert pool.invocations == 6


def test_a_quiet_function_keeps_using_its_first_environment(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path), size=3)
    invoke_at_once(pool, [barrier(tmp_path, parties=3)] * 3)
    assert len(pool.pids) == 3

    one_at_a_time = [pool.invoke({"do": "sleep", "seconds": 0}) for _ in range(3)]

    assert {r["pid"] for r in one_at_a_time} == {pool.pid} == {pool.pids[0]}


def test_a_crash_fails_that_invoke_and_restarts_that_environment_only(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path), size=2)
    invoke_at_once(pool, [barrier(tmp_path, parties=2)] * 2)
    before = pool.pids

    with pytest.raises(InvocationError) as failed:
        pool.invoke({"do": "crash"})

    assert failed.value.kind == "crash"
    assert pool.restarts == 1
    after = pool.pids
    assert len(after) == 2
    assert after[0] != before[0]  # the first environment took the invoke and was restarted
    assert after[1] == before[1]
    assert pool.invoke({"do": "sleep", "seconds": 0})["pid"] == after[0]


def test_a_process_killed_while_idle_is_restarted(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path), size=2)
    killed = pool.pid
    assert killed is not None

    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not pool.ensure_running():
        assert time.monotonic() < deadline, "the killed process was never seen dead"
        time.sleep(0.05)

    assert pool.pid not in (None, killed)
    assert pool.restarts == 1
    assert pool.invoke({"do": "sleep", "seconds": 0})["pid"] == pool.pid


def test_an_invoke_past_the_timeout_fails_and_restarts_its_environment(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    pool = started_pool(pools, spec(tmp_path, timeout_seconds=1), size=1)
    first = pool.pid

    with pytest.raises(InvocationError) as failed:
        pool.invoke({"do": "sleep", "seconds": 30})

    assert failed.value.kind == "timeout"
    assert pool.pid != first
    assert pool.invoke({"do": "sleep", "seconds": 0})["pid"] == pool.pid


def test_a_cold_start_that_fails_fails_its_invoke_only(
    tmp_path: Path, pools: list[FunctionPool]
) -> None:
    function = spec(tmp_path)
    pool = started_pool(pools, function, size=2)
    (function.code_dir / "broken").touch()  # a new environment cannot initialise now

    waiting = {**barrier(tmp_path, parties=2), "wait": 1}
    with ThreadPoolExecutor(2) as threads:
        invokes = [threads.submit(pool.invoke, waiting) for _ in range(2)]
        outcomes = [invoke.exception() or invoke.result() for invoke in invokes]

    # One invoke ran in the first environment; the other needed a cold start, which failed
    [failed] = [o for o in outcomes if isinstance(o, InvocationError)]
    [answered] = [o for o in outcomes if not isinstance(o, BaseException)]
    assert "cold start failed" in str(failed)
    assert answered["seen"] == 1
    assert len(pool.pids) == 1


def test_a_stopped_pool_refuses_invokes(tmp_path: Path, pools: list[FunctionPool]) -> None:
    pool = started_pool(pools, spec(tmp_path), size=1)
    pool.stop()
    with pytest.raises(InvocationError, match="stopping"):
        pool.invoke({"do": "sleep", "seconds": 0})


@pytest.mark.parametrize(("reserved", "sources", "cap", "size"), [
    (None, [5], 4, 4),  # the download worker: MaximumConcurrency 5, capped locally
    (None, [5], 8, 5),
    (None, [6, 4, 2], 16, 12),  # the ERP sync worker: three lanes
    (10, [6, 4, 2], 16, 10),  # ... within its reserved concurrency
    (None, [2], 4, 2),  # the catalog worker
    (None, [None], 4, 4),  # a source without ScalingConfig scales freely
    (None, [], 4, 4),  # an API function
    (3, [], 4, 3),  # ... with reserved concurrency
    (None, [], 1, 1),
])  # fmt: skip
def test_pool_sizes_follow_lambda_scaling_capped_locally(
    reserved: int | None, sources: list[int | None], cap: int, size: int
) -> None:
    assert pool_size(reserved=reserved, source_concurrency=sources, cap=cap) == size


def test_the_runtime_sizes_every_python_function_from_the_template() -> None:
    def function(reserved: int | None = None, runtime: str = "python3.14") -> dict[str, Any]:
        properties: dict[str, Any] = {"Runtime": runtime}
        if reserved is not None:
            properties["ReservedConcurrentExecutions"] = reserved
        return {"Type": "AWS::Lambda::Function", "Properties": properties}

    template = StackTemplate(
        {
            "Resources": {
                "Api": function(),
                "Reserved": function(reserved=2),
                "Worker": function(reserved=3),
                "Node": function(runtime="nodejs24.x"),
            }
        },
        stack_name="stack",
        region="us-east-1",
    )

    def mapping(function_id: str, concurrency: int | None) -> EventSourceMapping:
        return EventSourceMapping(function_id, "Q", "url", "arn", 10, 0, True, concurrency)

    sizes = function_pool_sizes(template, [mapping("Worker", 5), mapping("Worker", 2)], cap=6)

    assert sizes == {"Api": 6, "Reserved": 2, "Worker": 3}
