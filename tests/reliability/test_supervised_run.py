"""`run` supervises its workers: a worker that dies has its job put back at once, a replacement starts,
and `run` returns only when every job ended, with an exit code that says how."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import benchgrid as bg
from benchgrid._exitcodes import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK
from benchgrid.backends.local._supervisor import Supervisor

from ..worker.helpers import wait_exit, wait_started, wait_until
from .helpers import MISBEHAVE, cli, pid_alive, requeue_records

SLEEPER = "tests.runners.jobs:mark_and_sleep"


def test_sigkilled_worker_job_put_back_at_once_and_run_finishes(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    # job 0 sleeps a minute on its first run: the test kills the worker running it
    jobs = [{"i": i, "marker_dir": str(markers), "first_s": 60.0 if i == 0 else 0.0} for i in range(20)]
    proj = bg.Project.create(proj_dir, jobs, SLEEPER, lease_s=600.0)  # a lease wait would block the test
    run = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", "run", str(proj_dir), "--workers", "2", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        victim = wait_started(markers, 0, 1, timeout_s=60)
        os.kill(victim, signal.SIGKILL)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == EXIT_OK, err
    assert f"(pid {victim}) killed by SIGKILL while running job 0" in err
    st = proj.status()
    assert st.counts["done"] == 20 and st.finished
    assert proj.state().latest_attempt(0) == 2
    lost = [r for r in requeue_records(proj_dir) if r["job"] == 0]
    assert [(r["a"], r["l"], r["reason"]) for r in lost] == [(2, 1, "killed by SIGKILL")]
    assert (st.wasted.n, st.wasted.lost) == (1, 1)  # the killed run (issue 25); the jobs it held went back unrun


def test_segfaulting_job_fails_after_max_attempts_and_queue_goes_on(proj_dir: Path) -> None:
    jobs = [{"i": i, "how": "segv", "bad": 3} for i in range(12)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=3, lease_s=600.0)
    res = cli("run", str(proj_dir), "--workers", "2", "--no-progress")
    assert res.returncode == EXIT_FAILED, res.stderr
    assert res.stderr.count("killed by SIGSEGV while running job 3") == 3
    df = proj.results().set_index("job_id")
    assert (df.drop(index=3)["state"] == "done").all()
    assert df.loc[3, "state"] == "failed"
    assert df.loc[3, "error"].startswith("killed by SIGSEGV 3 times (max_attempts=3)")
    assert proj.status().wasted.lost == 3  # its three runs, the last one failed rather than put back


def test_os_exit_in_runner_is_a_lost_run_naming_the_status(proj_dir: Path) -> None:
    jobs = [{"i": i, "how": "os_exit", "bad": 0} for i in range(4)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=2, lease_s=600.0)
    st = proj.run(n_workers=1, progress=False)
    assert st.exit_code == EXIT_FAILED
    assert st.counts == {**st.counts, "done": 3, "failed": 1}
    assert "exit status 3 2 times" in proj.results().set_index("job_id").loc[0, "error"]
    assert [e for e in st.worker_ends if "exit status 3 while running job 0" in e]


def test_jobs_held_but_not_started_are_not_counted_against(proj_dir: Path) -> None:
    """Jobs batched with a poison job go back without a lost run: they did not kill the worker."""
    jobs = [{"i": i, "how": "sigkill_self", "bad": 150} for i in range(300)]  # claimed in a batch by then
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0)
    st = proj.run(n_workers=1, progress=False)
    assert st.counts["done"] == 299 and st.counts["failed"] == 1 and st.finished
    failed = [r for r in requeue_records(proj_dir) if "fail" in r]
    assert [r["job"] for r in failed] == [150] and failed[0]["fail"].startswith("killed by SIGKILL 1 time")
    spared = [r for r in requeue_records(proj_dir) if r["why"] == "handback"]
    assert spared and all(r["l"] == 0 and r["job"] > 150 for r in spared)  # the batch behind it, uncounted


def test_a_dead_workers_job_processes_die_with_it(proj_dir: Path) -> None:
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    jobs = [{"i": i, "how": "hang_with_child", "bad": 0, "marker_dir": str(markers)} for i in range(2)]
    proj = bg.Project.create(proj_dir, jobs, MISBEHAVE, max_attempts=1, lease_s=600.0)
    run = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", "run", str(proj_dir), "--workers", "1", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        child_marker = wait_until(lambda: sorted(markers.glob("child-*")), 60, "the job's child to start")[0]
        child = int(child_marker.name.split("-")[1])
        worker = int(sorted(markers.glob("started-0-*"))[0].name.rsplit("-", 1)[1])
        assert pid_alive(child)
        os.kill(worker, signal.SIGKILL)
        assert wait_exit(run, 60, "benchgrid run") == EXIT_FAILED
        wait_until(lambda: not pid_alive(child), 10, "the dead worker's child process to be killed")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert proj.status().counts["done"] == 1


def test_workers_that_die_before_taking_a_job_are_not_restarted_forever(proj_dir: Path) -> None:
    bg.Project.create(proj_dir, [{"i": i} for i in range(3)], "tests.runners.jobs:noop")
    lines: list[str] = []
    started: list[str] = []

    def spawn(name: str) -> subprocess.Popen[bytes]:
        started.append(name)
        return subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(7)"], start_new_session=True)

    sup = Supervisor(proj_dir, bg.Project.open(proj_dir).settings, 2, spawn, max_idle_deaths=3, notify=lines.append)
    sup.start()
    wait_until(lambda: not sup.step(), 60, "the supervisor to give up", interval_s=0.05)
    assert sup.exit_code() == EXIT_INCOMPLETE
    assert 3 <= len(started) <= 4 and sup.gave_up and "exit status 7" in sup.gave_up
    assert all("exit status 7 holding no job" in line for line in lines)


def test_sigterm_to_run_reaches_its_workers_and_jobs_are_handed_back(proj_dir: Path) -> None:
    """The workers lead their own process groups; `run` passes SIGTERM (and SIGHUP) on to them."""
    markers = proj_dir.parent / "markers"
    markers.mkdir()
    proj = bg.Project.create(proj_dir, [{"i": 0, "marker_dir": str(markers), "first_s": 600.0}], SLEEPER,
                             lease_s=600.0)
    run = subprocess.Popen(
        [sys.executable, "-m", "benchgrid", "run", str(proj_dir), "--workers", "1", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        worker = wait_started(markers, 0, 1, timeout_s=60)
        run.send_signal(signal.SIGTERM)
        assert wait_exit(run, 60, "benchgrid run") == 130
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    wait_until(lambda: not pid_alive(worker), 10, "the worker to exit")
    st = proj.status()
    assert st.counts["queued"] == 1 and st.counts["running"] == 0


def test_workers_that_end_during_a_slow_log_read_are_not_replaced(proj_dir: Path) -> None:
    """Liveness is taken before the logs are read: a read that started before the workers ended and
    missed their last records must not make their clean exits look like jobs left waiting.

    The slow read is forced: the reader's first pass waits until every worker has exited
    (real worker processes) before returning what it read while they still ran.
    """
    from benchgrid.backends.local._backend import _spawn
    from benchgrid.store.storage._state import ProjectState

    proj = bg.Project.create(proj_dir, [{"i": i, "marker_dir": str(proj_dir.parent), "first_s": 0.3}
                                        for i in range(4)], SLEEPER, lease_s=600.0)
    started: list[str] = []
    spawn = _spawn(str(proj_dir), proj.runner, {})

    class SlowState(ProjectState):
        sup: Supervisor | None = None

        def refresh(self) -> "SlowState":
            super().refresh()  # read while the workers are still running jobs ...
            if self.sup is not None and self.sup.procs:
                wait_until(lambda: all(p.poll() is not None for p in self.sup.procs.values()), 60,  # type: ignore[union-attr]
                           "the workers to end", interval_s=0.02)
            return self  # ... and hand that (now stale) reading back

    state = SlowState(proj_dir)

    def counting_spawn(name: str) -> object:
        started.append(name)
        return spawn(name)

    sup = Supervisor(proj_dir, proj.settings, 2, counting_spawn, state=state)
    state.sup = sup
    sup.start()
    wait_until(lambda: not sup.step(), 60, "the run to end", interval_s=0.05)
    assert started == ["local0", "local1"]  # no replacement for a worker that ended cleanly
    assert sup.exit_code() == EXIT_OK
    assert proj.status().counts["done"] == 4


def test_a_clean_worker_end_with_nothing_waiting_counts_no_job(proj_dir: Path) -> None:
    """A count is a pass over every job: a worker that ends while the others still run and nothing
    waits is not worth one (a big project with many workers would count once per worker's end).
    When a job does wait (put back by a worker that died), the supervisor counts and replaces."""
    from benchgrid.backends.local._backend import _spawn
    from benchgrid.store.storage._state import ProjectState

    markers = proj_dir.parent / "markers"
    markers.mkdir()
    # job 0 runs long; the others are quick: one worker ends cleanly while the other still runs job 0
    jobs = [{"i": i, "marker_dir": str(markers), "first_s": 3.0 if i == 0 else 0.0} for i in range(6)]
    proj = bg.Project.create(proj_dir, jobs, SLEEPER, lease_s=600.0)

    class CountingState(ProjectState):
        n_counts = 0

        def counts(self) -> dict[str, int]:
            CountingState.n_counts += 1
            return super().counts()

    state = CountingState(proj_dir)
    started: list[str] = []
    spawn = _spawn(str(proj_dir), proj.runner, {})

    def counting_spawn(name: str) -> object:
        started.append(name)
        return spawn(name)

    sup = Supervisor(proj_dir, proj.settings, 2, counting_spawn, state=state)
    sup.start()
    wait_until(lambda: len(sup.alive()) == 1, 60, "one worker to end cleanly", interval_s=0.02)
    assert sup.step()
    assert CountingState.n_counts == 0 and started == ["local0", "local1"]  # no count, no replacement
    # the long job's worker dies: its job is put back, counted, and a replacement runs it
    victim = wait_started(markers, 0, 1, timeout_s=60)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: not sup.step(), 60, "the run to end", interval_s=0.05)
    assert CountingState.n_counts >= 1 and started == ["local0", "local1", "local2"]
    assert sup.exit_code() == EXIT_OK
    assert proj.status().counts["done"] == 6 and proj.state().latest_attempt(0) == 2
