"""A real kernel OOM kill (a memory cgroup with a small limit) escalates the job; a bigger worker finishes it.

The worker's own guard cannot see these coming: it is told a budget of 1 GB
(``--mem-gb 1``) while the kernel enforces a much smaller cgroup limit, so
the kernel's OOM killer ends the worker with SIGKILL mid-job. Whoever sees
that death (the supervisor of ``run``, or a later worker on the same
machine) reads the cgroup's ``oom_kill`` counter and moves the job above the
dead worker's budget, without spending one of its ``max_attempts``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

import benchgrid as bg
from benchgrid._exitcodes import EXIT_INCOMPLETE, EXIT_OK
from benchgrid.store.storage._lanes import MEM_CLASSES_GB, lane_above
from benchgrid.worker._memory import oom_kill_count

from ..worker.helpers import assert_exactly_one_accepted
from .helpers import cli, requeue_records

RUNNER = "tests.runners.jobs:allocate_slowly"
LIMIT_MB = 300  # the kernel's limit; the big job touches 700 MB


@pytest.fixture
def memory_cgroup(tmp_path: Path) -> Iterator[Path]:
    """A fresh memory cgroup (v1, or v2 where v1 is not mounted) limited to LIMIT_MB; removed afterwards."""
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("creating a memory cgroup needs root (CI runs as root and does not skip)")
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "cgroup.procs").exists():
        cg, limit_file, events = v1 / f"benchgrid-test-{os.getpid()}-{tmp_path.name}", "memory.limit_in_bytes", "memory.oom_control"
    else:
        cg, limit_file, events = Path("/sys/fs/cgroup") / f"benchgrid-test-{os.getpid()}", "memory.max", "memory.events"
    cg.mkdir()
    try:
        (cg / limit_file).write_text(str(LIMIT_MB << 20))
        assert oom_kill_count(cg / events) == 0
        yield cg
    finally:
        for _ in range(50):  # whatever is left in it ends, then the folder can go
            pids = (cg / "cgroup.procs").read_text().split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            try:
                cg.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def in_cgroup(cg: Path, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """``benchgrid ARGS`` run inside the cgroup (with every process it starts: fork server, workers)."""
    cmd = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "benchgrid", *args])
    return subprocess.run(
        ["sh", "-c", f"echo $$ > {shlex.quote(str(cg / 'cgroup.procs'))} && exec {cmd}"],
        capture_output=True, text=True, timeout=timeout_s,
    )


def _jobs() -> list[dict[str, object]]:
    jobs: list[dict[str, object]] = [{"i": i, "mb": 10, "mem_gb": 0.1} for i in range(4)]
    jobs.append({"i": 4, "mb": 700, "step_mb": 50, "step_s": 0.0, "mem_gb": 0.1})  # says 0.1 GB, needs 0.7
    return jobs


def test_kernel_oom_kill_under_run_escalates_and_a_bigger_run_finishes(proj_dir: Path, memory_cgroup: Path) -> None:
    proj = bg.Project.create(proj_dir, _jobs(), RUNNER, memory_key="mem_gb", max_attempts=2)
    res = in_cgroup(memory_cgroup, "run", str(proj_dir), "--workers", "1", "--mem-gb", "1", "--no-progress")
    assert res.returncode == EXIT_INCOMPLETE, res.stderr
    assert "killed by the kernel's OOM killer" in res.stderr and "while running job 4" in res.stderr, res.stderr
    assert "its job moved to a larger memory class" in res.stderr
    # the run says why it stopped: memory, not a damaged queue
    assert "1 job(s) need more than 1 GB; no worker of this run has that much: start workers with --mem-gb 1.55" in res.stderr
    assert "Traceback" not in res.stderr

    status = proj.status()
    assert status.counts["done"] == 4 and status.counts["queued"] == 1 and status.counts["failed"] == 0
    (rq,) = [r for r in requeue_records(proj_dir) if r["job"] == 4]
    assert (rq["a"], rq["l"], rq["why"], rq["lane"]) == (2, 0, "out of memory", lane_above(0, 1.0))  # not a lost run
    assert rq["reason"].startswith("killed by the kernel's OOM killer at its cgroup's limit of 0.29 GB (oom_kill 0 -> 1")
    assert rq["reason"].endswith(f"moved to the {MEM_CLASSES_GB[lane_above(0, 1.0)]:g} GB class")

    shown = cli("status", str(proj_dir)).stdout
    assert "moved to a larger memory class:\n    job 4: killed by the kernel's OOM killer" in shown, shown
    assert "waiting per memory class: <= 1.41 GB: 1" in shown, shown

    # max_attempts=2 and one OOM kill behind it: a bigger worker still has both attempts
    res = cli("run", str(proj_dir), "--workers", "1", "--mem-gb", "2", "--no-progress")
    assert res.returncode == EXIT_OK, res.stderr
    a = assert_exactly_one_accepted(proj_dir, 5)
    assert proj.results().set_index("job_id").loc[4, "attempt"] == 2
    assert len([h for h in a.handbacks if h[0] == 4]) == 0  # the worker never recorded it: the kernel ended it


def test_oom_killed_standalone_worker_is_escalated_by_the_next_worker(proj_dir: Path, memory_cgroup: Path) -> None:
    """No supervisor (`benchgrid work`, as under a scheduler): a later worker on the machine judges the death."""
    bg.Project.create(proj_dir, _jobs()[4:], RUNNER, memory_key="mem_gb")
    res = in_cgroup(memory_cgroup, "work", str(proj_dir), "--name", "small", "--mem-gb", "1")
    assert res.returncode == -9 or res.returncode == 137, (res.returncode, res.stderr)
    res = cli("work", str(proj_dir), "--name", "big", "--mem-gb", "2")
    assert res.returncode == 0, res.stderr
    (rq,) = requeue_records(proj_dir)
    assert (rq["why"], rq["l"], rq["src"].split("-")[0]) == ("out of memory", 0, "small")
    assert "killed by the kernel's OOM killer" in rq["reason"]
    assert_exactly_one_accepted(proj_dir, 1)


def test_budget_read_from_a_cgroup_limit(memory_cgroup: Path) -> None:
    code = "from benchgrid.worker._memory import budget_gb; gb, src = budget_gb(env={}); print(round(gb, 4), src)"
    res = subprocess.run(
        ["sh", "-c", f"echo $$ > {shlex.quote(str(memory_cgroup / 'cgroup.procs'))} && "
                     f"exec {shlex.quote(sys.executable)} -c {shlex.quote(code)}"],
        capture_output=True, text=True, timeout=60,
    )
    assert res.stdout.split(maxsplit=1) == [str(round(LIMIT_MB / 1024, 4)), "cgroup memory limit\n"], res.stderr


@pytest.mark.parametrize("step", ["putback.written", "recover.events", "recover.marked"])
def test_recoverer_killed_mid_escalation_neither_loses_nor_repeats(proj_dir: Path, memory_cgroup: Path, step: str) -> None:
    """The recoverer that escalates dies at each step of its write; the next one escalates nothing twice."""
    bg.Project.create(proj_dir, _jobs()[4:], RUNNER, memory_key="mem_gb", lock_lease_s=2)
    res = in_cgroup(memory_cgroup, "work", str(proj_dir), "--name", "small", "--mem-gb", "1")
    assert res.returncode in (-9, 137), (res.returncode, res.stderr)
    killed = subprocess.run([sys.executable, "-m", "benchgrid", "work", str(proj_dir), "--name", "dies", "--mem-gb", "2"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "BENCHGRID_KILL_AT": step})
    assert killed.returncode == -9, killed.stderr
    res = cli("work", str(proj_dir), "--name", "big", "--mem-gb", "2")
    assert res.returncode == 0, res.stderr
    (rq,) = requeue_records(proj_dir)  # one escalation line, whoever wrote it
    assert (rq["job"], rq["a"], rq["why"], rq["l"]) == (0, 2, "out of memory", 0)
    a = assert_exactly_one_accepted(proj_dir, 1)
    assert a.claims_per()[(0, 2)] == 1
