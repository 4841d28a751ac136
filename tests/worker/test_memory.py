"""Memory-aware workers, for real: budgets, a real limit (ulimit -v), escalation to a bigger worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchgrid import Project
from benchgrid.cli.main import main
from benchgrid.store.storage._lanes import lane_of
from benchgrid.worker._guards import EXIT_OUT_OF_MEMORY

from .helpers import assert_exactly_one_accepted, stderr_of, wait_exit, worker_cmd

MB = "tests.runners.jobs:allocate"


def _start(root: Path, name: str, *args: str, as_limit_mb: int | None = None) -> subprocess.Popen[bytes]:
    cmd = worker_cmd(root, name, *args)
    if as_limit_mb is not None:  # a real limit: allocations past it fail with MemoryError
        cmd = ["prlimit", f"--as={as_limit_mb * 1024 * 1024}", "--", *cmd]
    err = open(root.parent / f"{name}.err", "wb")
    try:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    finally:
        err.close()


def test_real_limit_escalates_the_job_and_a_bigger_worker_finishes_it(proj_dir: Path) -> None:
    jobs = [{"i": i, "mb": 20, "mem_gb": 0.1} for i in range(6)]
    jobs += [{"i": 6, "mb": 1500, "mem_gb": 0.1}]  # says 0.1 GB, needs 1.5 GB
    jobs += [{"i": 7, "mb": 1200, "mem_gb": 1.5}]  # honest and big
    Project.create(proj_dir, jobs, MB, memory_key="mem_gb")
    small = _start(proj_dir, "small", as_limit_mb=1024)  # budget read from ulimit -v
    assert wait_exit(small, 60, "small worker") == 0, stderr_of(proj_dir, "small")
    status = Project.open(proj_dir).status()
    assert status.counts["done"] == 6 and status.counts["queued"] == 1 and status.counts["pending"] == 1
    assert status.counts["error"] == 0 and status.counts["failed"] == 0
    big = _start(proj_dir, "big", "--mem-gb", "4")
    assert wait_exit(big, 60, "big worker") == 0, stderr_of(proj_dir, "big")

    a = assert_exactly_one_accepted(proj_dir, len(jobs))
    small_id = next(w for w in a.workers if w.startswith("small-"))
    assert {j for j, _a, w in a.claims if w == small_id} == set(range(7))  # never the honest big job
    assert [(r["job"], r["a"], r["why"], r["l"], r["lane"]) for r in a.requeues] == [
        (6, 2, "out of memory", 0, lane_of(1.0001))  # above the small worker's 1 GB, not a lost run
    ]
    (handback,) = [h for h in a.handbacks if h[0] == 6]
    log = (proj_dir / "workers" / small_id / "worker.log").read_text()
    assert "out of memory (MemoryError) with a budget of 1.00 GB (ulimit -v)" in log
    assert handback == (6, 1)


def test_memory_guard_stops_a_job_before_the_kill_and_escalates_it(proj_dir: Path) -> None:
    jobs = [{"i": 0, "mb": 900, "mem_gb": 0.2}, {"i": 1, "mb": 10, "mem_gb": 0.2}]
    Project.create(proj_dir, jobs, "tests.runners.jobs:allocate_slowly", memory_key="mem_gb")
    small = _start(proj_dir, "small", "--mem-gb", "0.5")
    assert wait_exit(small, 60, "small worker") == EXIT_OUT_OF_MEMORY, stderr_of(proj_dir, "small")
    big = _start(proj_dir, "big", "--mem-gb", "3")
    assert wait_exit(big, 60, "big worker") == 0, stderr_of(proj_dir, "big")
    a = assert_exactly_one_accepted(proj_dir, 2)
    (rq0,) = [r for r in a.requeues if r["job"] == 0]
    assert rq0["why"] == "out of memory" and rq0["l"] == 0 and rq0["lane"] >= lane_of(0.5001)


def test_status_names_jobs_no_live_worker_can_take(proj_dir: Path, capsys) -> None:
    jobs = [{"i": i, "seconds": 30.0, "mem_gb": 0.1} for i in range(2)] + [{"i": 9, "seconds": 0, "mem_gb": 12.0}]
    Project.create(proj_dir, jobs, "tests.runners.jobs:sleep", memory_key="mem_gb")
    w = _start(proj_dir, "small", "--mem-gb", "2")
    try:
        from .helpers import wait_until

        wait_until(lambda: Project.open(proj_dir).status().counts["running"] == 1, 30, "a job to run")
        assert main(["status", str(proj_dir)]) == 0
        out = capsys.readouterr().out
        assert "1 job(s) need more than 2 GB; no live worker has that much" in out
        assert "--mem-gb 17.6" in out
        # the pools of live workers, and what waits in which class (issue 13)
        assert "memory pools (live workers): 1 x 2 GB (jobs up to 1.41 GB)" in out
        assert "<= 16 GB: 1 (no live worker takes these)" in out
        memory = Project.open(proj_dir).status().to_dict()["memory"]
        assert memory["pools"] == [{"mem_gb": 2.0, "alive": 1, "largest_class_gb": 1.41}]
        assert {"class_gb": 16.0, "waiting": 1, "served": False} in memory["lanes"]
    finally:
        w.kill()
        w.wait()


def test_work_refuses_a_bad_budget(proj_dir: Path) -> None:
    Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:noop")
    r = subprocess.run([sys.executable, "-m", "benchgrid", "work", str(proj_dir), "--mem-gb", "-1"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "mem_gb must be a number of GB > 0, got -1.0" in r.stderr


def test_dropped_jobs_do_not_wait_for_memory(proj_dir: Path, capsys) -> None:
    """Issue 23: the memory hint counted dropped jobs as waiting for a bigger worker."""
    jobs = [{"i": i, "seconds": 30.0, "mem_gb": 0.1} for i in range(2)] + [
        {"i": 9, "seconds": 0, "mem_gb": 12.0}, {"i": 10, "seconds": 0, "mem_gb": 12.0}]
    Project.create(proj_dir, jobs, "tests.runners.jobs:sleep", memory_key="mem_gb")
    assert main(["drop", str(proj_dir), "--where", "i=10"]) == 0
    w = _start(proj_dir, "small", "--mem-gb", "2")
    try:
        from .helpers import wait_until

        wait_until(lambda: Project.open(proj_dir).status().counts["running"] == 1, 30, "a job to run")
        capsys.readouterr()
        assert main(["status", str(proj_dir)]) == 0
        out = capsys.readouterr().out
        assert "1 job(s) need more than 2 GB; no live worker has that much" in out, out
        assert "<= 16 GB: 1 (no live worker takes these)" in out
        assert main(["drop", str(proj_dir), "--where", "i=9"]) == 0
        capsys.readouterr()
        assert main(["status", str(proj_dir)]) == 0
        out = capsys.readouterr().out
        assert "need more than" not in out and "16 GB" not in out, out
    finally:
        w.kill()
        w.wait()
