"""Self-sustaining pools on a real SLURM and a real Grid Engine (issue 21).

A pool of W = 2 workers with 1-minute allocations drains a campaign that
needs several of them, with no human action: each allocation that ends while
jobs remain submits its successor. Sampled from the scheduler's own list the
whole time, the pool's live + pending allocations never exceed W; the
campaign ends with every job done once (``benchgrid check`` clean) and the
ledger saying "no job left". A pool whose workers cannot start stops after
two generations, saying why (a setup that exits the job script too); one
whose setup kills its shell, so that nothing decides, is shown as broken; ``cancel`` mid-chain leaves nothing pending; the
budget of allocations is kept.

A campaign that takes minutes of allocations is submitted on both schedulers
at once (``start_side_by_side``): each item asserts its own, and the file
takes the time of the slower scheduler, not of both. A test that passes before
its pool's last allocation ends cancels it, so no next test waits behind it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from benchgrid import Project
from benchgrid.backends import get_backend
from benchgrid.backends._pools import pool_job_name
from benchgrid.store import PoolLedger, ProjectState

from .conftest import cancel_project, require_scheduler, side_by_side_fixture, wait_for

SCHEDULERS = [pytest.param("slurm", marks=pytest.mark.slurm), pytest.param("sge", marks=pytest.mark.sge)]


class Sampler:
    """The pool's live + pending tasks, from the scheduler, every half second (the largest seen).

    A task whose worker has ended (recorded ``ending`` in the ledger: it
    decided its successors and exits) is not counted: the scheduler lists it
    as running for the second it takes to reap it, next to the successor it
    just submitted.
    """

    def __init__(self, backend: str, root: Path, pool: str = "p0"):
        self.ledger = PoolLedger(root, pool)
        self.chosen = get_backend(backend)
        self.name = pool_job_name(self.chosen, root, pool)  # type: ignore[arg-type]
        self.most = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def now(self) -> int:
        listed = {row.job_id for row in self.chosen.named_tasks(self.name)}  # type: ignore[attr-defined]
        ending = self.ledger.read().ending_tasks if self.ledger.exists() else set()
        return len(listed - ending)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.most = max(self.most, self.now())
                self.samples += 1
            except Exception:  # noqa: BLE001 - a scheduler command that fails once is not the test's subject
                pass

    def start(self) -> "Sampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture(autouse=True)
def _cancel_what_is_left(proj_dir):
    """A test may pass before its pool's last allocation ends (the budget's test stops at its second decision,
    its third allocation still running): cancelled, it does not hold a CPU that the next test's pool waits for."""
    yield
    cancel_project(proj_dir)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgrid", *args], capture_output=True, text=True, timeout=120)


def _done(root: Path) -> int:
    return ProjectState(root).refresh().counts()["done"]


# 104 s of work for 2 workers whose 1-minute allocations compute 45 s (90 s a generation): never one generation,
# and the second is short (a test of the chain, not of a long campaign)
N_CAMPAIGN_JOBS = 52


class Started(NamedTuple):
    root: Path
    submitted: subprocess.CompletedProcess[str]
    sampler: Sampler


def _start_campaign(backend: str, root: Path) -> Started:
    Project.create(root, [{"i": i, "seconds": 2.0} for i in range(N_CAMPAIGN_JOBS)], "tests.runners.jobs:sleep")
    sampler = Sampler(backend, root).start()  # from before the first allocation is submitted
    out = _cli("submit", str(root), "--backend", backend, "--workers", "2", "--time", "1", "--until-done",
               "--max-allocations", "20")
    return Started(root, out, sampler)


campaigns = side_by_side_fixture("campaigns", _start_campaign)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", SCHEDULERS)
def test_a_campaign_longer_than_an_allocation_finishes_with_no_human_action(campaigns, backend):
    proj_dir, out, sampler = campaigns[backend]  # submitted side by side with the other scheduler's
    n_jobs = N_CAMPAIGN_JOBS
    try:
        assert out.returncode == 0, out.stderr
        assert "self-sustaining" in out.stdout
        wait_for(lambda: _done(proj_dir) == n_jobs and sampler.now() == 0, timeout_s=600, what="the campaign to end")
    finally:
        sampler.stop()
    assert sampler.samples > 20 and sampler.most <= 2, (sampler.samples, sampler.most)
    state = PoolLedger(proj_dir, "p0").read()
    assert state.generation >= 2, state.submitted
    assert state.stopped is not None and state.stopped.startswith("no job left"), state.stopped
    assert state.n_submitted <= 20
    check = _cli("check", str(proj_dir))
    assert check.returncode == 0, check.stdout
    status = _cli("status", str(proj_dir)).stdout
    assert f"pool p0 ({backend}, 2 workers of 1 CPU, until done): generation {state.generation}" in status, status
    assert f"allocations: {state.n_submitted} submitted of 20, 0 running, 0 pending, {len(state.ending)} ended" in status
    assert f"busy in {n_jobs} job(s) that ended" in status, status
    # the timeline draws the allocations from the ledger: a row per allocation, named by its scheduler task
    from benchgrid import plot_timeline

    fig = plot_timeline(proj_dir, path=proj_dir.parent / "timeline.png")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert {label.split(" · ")[-1].removesuffix(" (no job)") for label in labels} == state.ending_tasks, labels
    assert f"{len(state.ending)} allocations (outlined) ended" in fig.axes[0].get_title(loc="left")


@pytest.mark.parametrize("backend", SCHEDULERS)
def test_workers_that_cannot_start_stop_the_chain_after_two_generations(proj_dir, tmp_path, backend):
    require_scheduler(backend)
    code = tmp_path / "code"
    code.mkdir()
    (code / "fragile.py").write_text(
        "import os\nif os.environ.get('BREAK_RUNNER'):\n    raise ImportError('broken on the nodes on purpose')\n"
        "def run(i):\n    return {'i2': i}\n"
    )
    Project.create(proj_dir, [{"i": i} for i in range(10)], "fragile:run", code_path=[str(code)])
    out = _cli("submit", str(proj_dir), "--backend", backend, "--workers", "2", "--time", "1", "--until-done",
               "--setup", "export BREAK_RUNNER=1")
    assert out.returncode == 0, out.stderr
    ledger = PoolLedger(proj_dir, "p0")
    wait_for(lambda: ledger.read().stopped is not None, timeout_s=300, what="the chain to stop")
    state = ledger.read()
    assert "two generations of allocations ended within 60 s having done no job" in state.stopped, state.stopped
    assert "broken on the nodes on purpose" in state.stopped  # why, from the worker's own words
    assert state.generation == 2 and state.n_submitted <= 4, state.submitted
    assert _done(proj_dir) == 0
    status = _cli("status", str(proj_dir)).stdout
    assert "stopped: two generations" in status


@pytest.mark.parametrize("backend", SCHEDULERS)
def test_a_setup_that_exits_before_the_worker_stops_the_chain_after_two_generations(proj_dir, backend):
    """The job script's setup ends it (``exit 3``): its EXIT trap still starts the decision, with no worker."""
    require_scheduler(backend)
    Project.create(proj_dir, [{"i": i} for i in range(10)], "tests.runners.jobs:echo")
    out = _cli("submit", str(proj_dir), "--backend", backend, "--workers", "2", "--time", "1", "--until-done",
               "--setup", "echo 'module load python/9.9: no such module' >&2; exit 3")
    assert out.returncode == 0, out.stderr
    ledger = PoolLedger(proj_dir, "p0")
    wait_for(lambda: ledger.read().stopped is not None, timeout_s=300, what="the chain to stop")
    state = ledger.read()
    assert "two generations of allocations ended within 60 s having done no job" in state.stopped, state.stopped
    assert "its setup ended the job script (exit code 3) before the worker started" in state.stopped
    assert "module load python/9.9: no such module" in state.stopped  # the log's last lines
    assert state.generation == 2 and state.n_submitted <= 4, state.submitted
    assert _done(proj_dir) == 0


@pytest.mark.parametrize("backend", SCHEDULERS)
def test_a_setup_that_kills_its_shell_leaves_a_chain_status_calls_broken(proj_dir, backend):
    """No process is left to decide (``kill -9 $$``): the chain ends without a stop, and status says so."""
    require_scheduler(backend)
    Project.create(proj_dir, [{"i": i} for i in range(10)], "tests.runners.jobs:echo")
    out = _cli("submit", str(proj_dir), "--backend", backend, "--workers", "2", "--time", "1", "--until-done",
               "--setup", "echo 'the node ran out of something' >&2; kill -9 $$")
    assert out.returncode == 0, out.stderr
    sampler = Sampler(backend, proj_dir)
    wait_for(lambda: sampler.now() == 0, timeout_s=180, what="the allocations to end")
    status = _cli("status", str(proj_dir))
    assert status.returncode == 0, status.stderr
    assert "BROKEN: no allocation running or pending and 10 job(s) left" in status.stdout, status.stdout
    assert "the node ran out of something" in status.stdout, status.stdout
    assert "--until-done --pool-name p1" in status.stdout
    assert PoolLedger(proj_dir, "p0").read().stopped is None


def _start_chain_to_cancel(backend: str, root: Path) -> Started:
    Project.create(root, [{"i": i, "seconds": 5.0} for i in range(40)], "tests.runners.jobs:sleep")
    out = _cli("submit", str(root), "--backend", backend, "--workers", "2", "--time", "1", "--until-done")
    return Started(root, out, Sampler(backend, root))


chains_to_cancel = side_by_side_fixture("chains_to_cancel", _start_chain_to_cancel)


@pytest.mark.parametrize("backend", SCHEDULERS)
def test_cancel_mid_chain_leaves_nothing_pending_and_stops_the_pool(chains_to_cancel, backend):
    proj_dir, out, sampler = chains_to_cancel[backend]  # submitted side by side with the other scheduler's
    assert out.returncode == 0, out.stderr
    wait_for(lambda: _done(proj_dir) >= 1, timeout_s=180, what="the first job to end")
    cancelled = _cli("cancel", str(proj_dir))
    assert cancelled.returncode == 0, cancelled.stderr
    state = PoolLedger(proj_dir, "p0").read()
    assert state.stopped == "cancelled (benchgrid cancel)"
    wait_for(lambda: sampler.now() == 0, timeout_s=120, what="the pool's tasks to end")
    time.sleep(5)  # a worker that ended as it was cancelled had time to decide: it must not have submitted
    assert sampler.now() == 0
    assert PoolLedger(proj_dir, "p0").read().n_submitted == state.n_submitted


@pytest.mark.timeout(900)
@pytest.mark.slurm
def test_the_budget_of_allocations_is_kept(proj_dir):
    require_scheduler("slurm")
    Project.create(proj_dir, [{"i": i, "seconds": 2.0} for i in range(200)], "tests.runners.jobs:sleep")
    # warned 40 s before their end, the 1-minute allocations compute 20 s: the budget is spent sooner, the same way
    out = _cli("submit", str(proj_dir), "--workers", "2", "--time", "1", "--warning-s", "40", "--until-done",
               "--max-allocations", "3")
    assert out.returncode == 0, out.stderr
    ledger = PoolLedger(proj_dir, "p0")
    wait_for(lambda: ledger.read().stopped is not None, timeout_s=400, what="the budget to be spent")
    state = ledger.read()
    assert state.n_submitted == 3 and state.stopped == "the budget of 3 allocations is spent", (state.submitted, state.stopped)
    bad = _cli("submit", str(proj_dir), "--workers", "2", "--max-allocations", "3")
    assert bad.returncode == 2 and "--max-allocations is the budget of a self-sustaining pool" in bad.stderr
    small = _cli("submit", str(proj_dir), "--workers", "2", "--until-done", "--max-allocations", "1")
    assert small.returncode == 2 and "max_allocations must be an integer >= the number of workers (2), got 1" in small.stderr
    again = _cli("submit", str(proj_dir), "--workers", "2", "--until-done")
    assert again.returncode == 2 and "already has a pool named 'p0'" in again.stderr, again.stderr


# W = 2 allocations of 1 minute and 1 CPU with 3 minutes (180 core-s) of budget. Each allocation ends at its
# warning, having cost ~45 s: the first to end pays a successor (45 + 60 live + 60 <= 180), the second pays none
# while that one is live (90 + 60 + 60 > 180), and the successor stops the chain (135 + 60 > 180): every
# decision the budget makes, in two generations.
CORE_HOURS = 3 / 60


def _start_core_hours(backend: str, root: Path) -> Started:
    Project.create(root, [{"i": i, "seconds": 2.0} for i in range(300)], "tests.runners.jobs:sleep")
    out = _cli("submit", str(root), "--backend", backend, "--workers", "2", "--time", "1", "--until-done",
               "--max-core-hours", f"{CORE_HOURS:.6f}")
    return Started(root, out, Sampler(backend, root))


core_hour_campaigns = side_by_side_fixture("core_hour_campaigns", _start_core_hours)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", SCHEDULERS)
def test_the_budget_of_core_hours_is_never_passed(core_hour_campaigns, backend):
    """W = 2 allocations of 1 minute and 1 CPU with 3 minutes of budget: it pays a successor, then the chain
    stops within it, saying so."""
    proj_dir, out, sampler = core_hour_campaigns[backend]  # submitted side by side with the other scheduler's
    hours = CORE_HOURS
    assert out.returncode == 0, out.stderr
    ledger = PoolLedger(proj_dir, "p0")
    wait_for(lambda: ledger.read().stopped is not None and sampler.now() == 0, timeout_s=600,
             what="the budget to be spent")
    state = ledger.read()
    spent = f"the budget of {hours:.3g} core-hours is spent"
    assert state.stopped.startswith(spent), state.stopped
    assert state.n_submitted > 2, state.submitted  # it paid a successor before it stopped
    assert state.core_s <= hours * 3600 and len(state.ending) == state.n_submitted, (state.core_s, state.ending)
    assert _done(proj_dir) < 300
    status = _cli("status", str(proj_dir)).stdout
    assert f"budget {hours:.3g} core-hours" in status and f"stopped: {spent}" in status, status


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.slurm
def test_a_job_longer_than_the_allocations_is_failed_saying_what_it_needs_and_starves_nothing(proj_dir):
    require_scheduler("slurm")
    # issue 21's trap: one 150 s job first in a project of 21, 1-minute allocations: it was handed back at
    # every warning and started again by the next allocation, forever, and the 20 jobs behind it never ran
    jobs = [{"i": 0, "seconds": 150.0}] + [{"i": i, "seconds": 0.1} for i in range(1, 21)]
    Project.create(proj_dir, jobs, "tests.runners.jobs:sleep", max_attempts=1)
    # warned 40 s before their end, the 1-minute allocations compute 20 s: the long job ran the whole of one
    out = _cli("submit", str(proj_dir), "--workers", "1", "--time", "1", "--warning-s", "40", "--until-done",
               "--max-allocations", "6")
    assert out.returncode == 0, out.stderr
    ledger = PoolLedger(proj_dir, "p0")
    wait_for(lambda: ledger.read().stopped is not None, timeout_s=420, what="the pool to stop")
    counts = ProjectState(proj_dir).refresh().counts()
    assert counts["done"] == 20 and counts["failed"] == 1, counts
    status = _cli("status", str(proj_dir)).stdout
    requeue = (proj_dir / "queue" / "requeue.log").read_text()
    assert "needs more than" in requeue and "at the limit" in requeue and "retry" in requeue, requeue
    assert "stopped: no job left" in status, status
