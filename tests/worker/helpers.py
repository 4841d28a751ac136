"""Shared code of the core's invariant tests: real worker processes, raw-log audits, waiting.

Tests start workers as the backends do (``python -m benchgrid work DIR``),
wait for events by polling the project's files with a timeout (never a
fixed sleep), and check invariants on the raw logs as well as through the
public API, so a bug in the state reader cannot hide a bug in the protocol.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

from benchgrid.store import audit_logs
from benchgrid.store.storage._layout import Layout
from benchgrid.store.storage._records import read_records
from benchgrid.store.storage._state import ProjectState

T = TypeVar("T")


# -- processes -------------------------------------------------------------------
def worker_cmd(root: Path, name: str, *args: str) -> list[str]:
    """The command line every backend launches for one worker."""
    return [sys.executable, "-m", "benchgrid", "work", str(root), "--name", name, *args]


def start_worker(root: Path, name: str, *args: str, out_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``benchgrid work ROOT --name NAME`` as its own process; its stderr goes to ``<out_dir>/<name>.err``.

    ``out_dir`` defaults to the folder that holds the project (never the
    project itself: the core owns that).
    """
    out_dir = Path(root).parent if out_dir is None else out_dir
    err = open(out_dir / f"{name}.err", "wb")
    try:
        return subprocess.Popen(worker_cmd(root, name, *args), stdout=subprocess.DEVNULL, stderr=err)
    finally:
        err.close()  # the child holds its own copy


def stderr_of(root: Path, name: str, out_dir: Path | None = None) -> str:
    out_dir = Path(root).parent if out_dir is None else out_dir
    try:
        return (out_dir / f"{name}.err").read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_exit(proc: subprocess.Popen[bytes], timeout_s: float, what: str = "worker") -> int:
    """Wait for a process to exit; fail the test (killing it) if it does not within ``timeout_s``."""
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"{what} (pid {proc.pid}) still running after {timeout_s} s") from None


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Clean-up for a test that failed halfway: SIGKILL its own processes, by pid."""
    for p in procs:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)  # a stopped process must run to die
                p.kill()
            except ProcessLookupError:
                pass
    for p in procs:
        p.wait()


# -- waiting ---------------------------------------------------------------------
def wait_until(predicate: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.02) -> T:
    """Poll ``predicate`` until it returns something true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def state(root: Path) -> ProjectState:
    return ProjectState(Path(root)).refresh()


def wait_state(root: Path, job: int, wanted: str | tuple[str, ...], timeout_s: float) -> ProjectState:
    """Wait until ``job`` is in state ``wanted`` (one name or a tuple of names); return the state read."""
    wanted = (wanted,) if isinstance(wanted, str) else wanted

    def check() -> ProjectState | None:
        s = state(root)
        return s if s.state_of(job) in wanted else None

    return wait_until(check, timeout_s, f"job {job} to be {' or '.join(wanted)}")


def marker(marker_dir: Path, job: int, attempt: int) -> Path | None:
    """The marker ``tests.runners.jobs:mark_and_sleep`` left when it started ``job`` at ``attempt``."""
    found = sorted(marker_dir.glob(f"started-{job}-{attempt}-*"))
    return found[0] if found else None


def wait_started(marker_dir: Path, job: int, attempt: int, timeout_s: float) -> int:
    """Wait until the runner of ``job`` at ``attempt`` has started; return the pid running it."""
    path = wait_until(lambda: marker(marker_dir, job, attempt), timeout_s, f"job {job} attempt {attempt} to start")
    return int(path.name.rsplit("-", 1)[1])


# -- audits of the raw logs -------------------------------------------------------
@dataclass
class Audit:
    """Everything the raw logs say, parsed with the core's own record reader."""

    n: int
    claims: list[tuple[int, int, str]] = field(default_factory=list)  # (job, attempt, worker) per claimed job
    done: dict[tuple[int, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    handbacks: dict[tuple[int, int], list[str]] = field(default_factory=lambda: defaultdict(list))
    requeues: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)

    def claims_per(self) -> Counter[tuple[int, int]]:
        """How many claim records name each (job, attempt)."""
        return Counter((job, attempt) for job, attempt, _w in self.claims)

    def claims_of_job(self) -> Counter[int]:
        return Counter(job for job, _a, _w in self.claims)

    def done_per_job(self) -> Counter[int]:
        return Counter(job for (job, _a), ws in self.done.items() for _ in ws)


def audit(root: Path) -> Audit:
    """Parse ``queue/*.log`` and every ``workers/*/events.log`` (torn lines are skipped by the reader)."""
    layout = Layout(Path(root))
    claim_records, _ = read_records(layout.claims)
    a = Audit(n=int(claim_records[-1]["n"]))
    for r in claim_records:
        if r.get("op") == "claim":
            a.claims += [(int(job), int(attempt), r["w"]) for job, attempt, *_rest in r["c"]]
    a.requeues, _ = read_records(layout.requeue)
    a.events, _ = read_records(layout.events)
    if layout.workers_dir.exists():
        for d in sorted(layout.workers_dir.iterdir()):
            a.workers.append(d.name)
            records, _ = read_records(d / "events.log")
            for r in records:
                key = (int(r["job"]), int(r["a"]))
                if r["op"] == "done":
                    a.done[key].append(d.name)
                elif r["op"] == "error":
                    a.errors[key].append(r)
                elif r["op"] == "handback":
                    a.handbacks[key].append(d.name)
    return a


def assert_exactly_one_accepted(root: Path, n_jobs: int) -> Audit:
    """Every job has exactly one done record, at its latest attempt, and the API agrees.

    Checked on the raw logs (done records per job and per (job, attempt),
    against the attempts of the claim records) and through the public API
    (``Project.results()``: one row per job, all 'done').
    """
    from benchgrid import Project

    a = audit(root)
    assert a.n == n_jobs
    latest: dict[int, int] = {}
    for job, attempt, _w in a.claims:
        latest[job] = max(latest.get(job, 0), attempt)
    assert sorted(latest) == list(range(n_jobs)), "some jobs were never claimed"
    per_job = a.done_per_job()
    not_once = {job: per_job.get(job, 0) for job in range(n_jobs) if per_job.get(job, 0) != 1}
    assert not not_once, f"jobs without exactly one done record (job: count): {dict(list(not_once.items())[:10])}"
    stale = [(job, attempt) for (job, attempt) in a.done if attempt != latest[job]]
    assert not stale, f"done records of attempts that are not the job's latest: {stale[:10]}"
    claimers: dict[tuple[int, int], set[str]] = defaultdict(set)
    for job, attempt, w in a.claims:
        claimers[(job, attempt)].add(w)
    for key, workers in a.done.items():
        assert set(workers) <= claimers[key], f"job/attempt {key} done by {workers}, claimed by {claimers[key]}"

    # the logs alone prove it too: nothing claimed or put back twice, every claim explained
    report = audit_logs(Path(root), save=False)
    assert report.ok, f"benchgrid check found: {report.problems[:10]}"
    twice = [key for key, n in a.claims_per().items() if n > 1]
    assert not twice, f"(job, attempt) claimed twice: {twice[:10]}"

    results = Project.open(root).results()
    assert len(results) == n_jobs
    assert sorted(results["job_id"]) == list(range(n_jobs))
    bad = results[results["state"] != "done"]
    assert bad.empty, f"jobs not done: {bad[['job_id', 'state', 'attempt']].head(10).to_dict('records')}"
    assert (results["attempt"] == results["job_id"].map(latest)).all()
    return a
