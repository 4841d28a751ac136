"""Shared code of the cross-client end-to-end tests: a poller on both clients, checks from the server side.

The poller does what users and tools do while workers run: ``stat`` and
list the project's folders (``ls -l queue/``), and run ``benchgrid status``,
on both clients, the whole time. On a caching client this is what fills the
attribute and lookup caches with soon-stale answers (issue 9).

Audits read the logs from the backing folder (the server's view), so no
client cache can hide a duplicate; ``benchgrid check`` is run there and
through client B.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.worker.helpers import Audit, audit


@dataclass
class Poller:
    """Stat, list and ``benchgrid status`` the project on every given view until stopped."""

    dirs: list[Path]
    interval_s: float = 0.1
    n_stat_passes: int = 0
    n_status_runs: Counter[str] = field(default_factory=Counter)
    status_failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> "Poller":
        self._threads = [threading.Thread(target=self._stat_loop, daemon=True)]
        self._threads += [threading.Thread(target=self._status_loop, args=(d,), daemon=True) for d in self.dirs]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=120)

    def _stat_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            for d in self.dirs:
                for sub in (d, d / "queue", d / "workers"):
                    try:
                        for name in os.listdir(sub):
                            os.stat(sub / name)  # ls -l
                    except OSError:
                        pass  # not created yet, or a worker folder renamed under us
            self.n_stat_passes += 1

    def _status_loop(self, d: Path) -> None:
        while not self._stop.is_set():
            p = subprocess.run(
                [sys.executable, "-m", "benchgrid", "status", str(d)], capture_output=True, text=True, timeout=120
            )
            self.n_status_runs[str(d)] += 1
            if p.returncode != 0:
                self.status_failures.append(f"status {d} exit {p.returncode}: {p.stderr[-2000:]}")

    def assert_polled(self) -> None:
        assert not self.status_failures, self.status_failures[:3]
        assert self.n_stat_passes >= 2, "the poller did not run while the workers did"
        assert all(self.n_status_runs[str(d)] >= 1 for d in self.dirs), self.n_status_runs


def check_clean(*dirs: Path) -> None:
    """``benchgrid check DIR`` finds nothing (exit 0), read from each given view."""
    for d in dirs:
        p = subprocess.run([sys.executable, "-m", "benchgrid", "check", str(d)], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"benchgrid check {d} exit {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"


def revoked_claims(root: Path) -> dict[str, set[tuple[int, int]]]:
    """The (job, attempt) claims taken back from each worker, by worker id, from the ``revoked`` markers on the server."""
    from benchgrid.store.storage._records import read_json

    out: dict[str, set[tuple[int, int]]] = {}
    for d in sorted((root / "workers").iterdir()):
        if (d / "revoked").exists():
            out[d.name] = {(int(job), int(attempt)) for job, attempt, *_rest in read_json(d / "revoked")["claims"]}
    return out


def assert_done_exactly_once(backing: Path, n_jobs: int) -> tuple[Audit, int]:
    """Every job has exactly one accepted result and no (job, attempt) was handed out twice.

    Read from the raw logs on the server side and through the public API.
    A result is accepted when it belongs to its job's latest attempt; a done
    record of an earlier attempt (a worker that froze past its lease and
    woke up; fencing by attempt keeps it out) is allowed only where a later
    attempt exists, and is counted: the second value returned.
    """
    from benchgrid import Project

    a = audit(backing)
    assert a.n == n_jobs
    twice = [key for key, c in a.claims_per().items() if c > 1]
    assert not twice, f"{len(twice)} (job, attempt) handed out twice, e.g. {twice[:10]}"
    latest: dict[int, int] = {}
    claimers: dict[tuple[int, int], set[str]] = defaultdict(set)
    for job, attempt, w in a.claims:
        latest[job] = max(latest.get(job, 0), attempt)
        claimers[(job, attempt)].add(w)
    assert sorted(latest) == list(range(n_jobs)), "some jobs were never claimed"
    accepted = Counter(job for (job, attempt), ws in a.done.items() if attempt == latest[job] for _ in ws)
    not_once = {job: accepted.get(job, 0) for job in range(n_jobs) if accepted.get(job, 0) != 1}
    assert not not_once, f"jobs without exactly one accepted result (job: count): {dict(list(not_once.items())[:10])}"
    for key, workers in a.done.items():
        assert set(workers) <= claimers[key], f"job/attempt {key} done by {workers}, claimed by {claimers[key]}"
    fenced = sum(len(ws) for (job, attempt), ws in a.done.items() if attempt != latest[job])

    results = Project.open(backing).results()
    assert len(results) == n_jobs and sorted(results["job_id"]) == list(range(n_jobs))
    bad = results[results["state"] != "done"]
    assert bad.empty, f"jobs not done: {bad[['job_id', 'state', 'attempt']].head(10).to_dict('records')}"
    assert (results["attempt"] == results["job_id"].map(latest)).all()
    return a, fenced
