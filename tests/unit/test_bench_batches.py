"""bench.batches' projection to a Lambda function's CPU share: each run's CPU stretched by
1,769 MB / memory, its waits kept, and the target judged on the projected ratio."""

from __future__ import annotations

import pytest

from bench.batches import _row, _Run, _Timed, _Worker
from bench.model import ONE_VCPU_MB


def worker() -> _Worker:
    return _Worker("download", "download_worker.handler", lambda *_: {}, 10, "records")


def test_a_run_s_cpu_stretches_with_the_share_and_its_waits_do_not() -> None:
    run = _Run(wall_ms=110.0, cpu_ms=10.0)  # 100 ms waiting, 10 ms computing

    assert run.with_cpu_share(1.0) == 110.0
    assert run.with_cpu_share(0.5) == pytest.approx(120.0)
    assert run.with_cpu_share(0.25) == pytest.approx(140.0)


def test_a_projected_row_is_judged_on_the_projected_ratio() -> None:
    # One record: 100 ms of waits + 5 ms of CPU; ten: the waits overlapped, 50 ms of CPU
    timed = _Timed(
        100,
        ones=[_Run(105.0, 5.0)] * 3,
        manys=[_Run(150.0, 50.0)] * 3,
        replayed=True,
    )

    full = _row(worker(), timed)
    half = _row(worker(), timed, memory_mb=ONE_VCPU_MB // 2)

    assert full.ratio == pytest.approx(150 / 105, abs=0.01)
    assert full.meets_target is True
    # At half a vCPU the CPU doubles: (150 + 50) / (105 + 5)
    assert half.ratio == pytest.approx(200 / 110, abs=0.01)
    assert half.meets_target is False
    assert "projected to prod's 884 MB (0.50 vCPU)" in half.name


def test_memory_beyond_one_vcpu_projects_nothing() -> None:
    timed = _Timed(100, ones=[_Run(105.0, 5.0)], manys=[_Run(150.0, 50.0)], replayed=True)

    assert _row(worker(), timed, memory_mb=3008).ratio == _row(worker(), timed).ratio
