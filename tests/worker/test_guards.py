"""worker/_guards.py: what a MemoryError makes of a job, and where the time limit applies.

The guards running for real (a job killed at its time limit, a worker
stopped by its memory guard) are in tests/reliability/test_job_timeout.py
and tests/worker/test_memory.py; these check the decisions in between.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgrid import Project
from benchgrid.store import MEM_CLASSES_GB, N_LANES, Claim, lane_of
from benchgrid.store import ProjectState, error_rows
from benchgrid.worker import Worker
from benchgrid.worker._capacity import memory_lane_above


def _worker(proj_dir: Path, memory_key: str | None) -> Worker:
    Project.create(proj_dir, [{"i": 0, "mem_gb": 0.5}], "tests.runners.jobs:noop",
                   **({"memory_key": memory_key} if memory_key else {}))
    return Worker(proj_dir, mem_gb=1.0)


def test_a_memory_error_moves_the_job_to_a_larger_lane(proj_dir: Path) -> None:
    worker = _worker(proj_dir, "mem_gb")
    claim = Claim(0, 1, 0, lane_of(0.5))
    record = worker._out_of_memory_record(claim, 10.0, MemoryError())
    assert record["op"] == "escalate" and (record["job"], record["a"], record["t0"]) == (0, 1, 10.0)
    assert record["why"].startswith("out of memory (MemoryError) with a budget of 1.00 GB")
    above = memory_lane_above(worker.queue, claim.lane, worker.mem_gb)
    assert above is not None and MEM_CLASSES_GB[above[1]] > 1.0  # above this worker's budget, not just the next


def test_a_memory_error_is_a_job_error_without_lanes_or_above_the_last(proj_dir: Path) -> None:
    worker = _worker(proj_dir, None)
    record = worker._out_of_memory_record(Claim(0, 1, 0, 0), 10.0, MemoryError("no room"))
    assert record["op"] == "error" and record["err"].startswith("MemoryError: no room (out of memory")


def test_a_memory_error_in_the_largest_lane_is_a_job_error(tmp_path: Path) -> None:
    worker = _worker(tmp_path / "proj", "mem_gb")
    record = worker._out_of_memory_record(Claim(0, 1, 0, N_LANES - 1), 10.0, MemoryError())
    assert record["op"] == "error"


def test_the_time_limit_in_process_is_an_alarm_that_counts_lost_runs(proj_dir: Path) -> None:
    """In a notebook or a test the worker's process is not its own: an alarm raises in the job (issue 23)."""
    Project.create(proj_dir, [{"i": 0, "seconds": 5.0}], "tests.runners.jobs:sleep", max_attempts=2)
    summary = Worker(proj_dir, job_timeout_s=0.05).run(handle_signals=False)
    assert (summary.done, summary.errors) == (0, 2)
    st = ProjectState(proj_dir).refresh()
    assert st.state_of(0) == "failed" and st.lost_runs(0) == 2
    assert "timed out after 0.05 s" in error_rows(st)[0]["error"]


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "10"])
def test_a_time_limit_must_be_positive_seconds(proj_dir: Path, bad: object) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")
    with pytest.raises(Exception, match=r"job_timeout_s must be a number of seconds > 0, got"):
        Worker(proj_dir, job_timeout_s=bad)  # type: ignore[arg-type]
