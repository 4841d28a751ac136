"""Keep a worker running for its whole allocation: a new one when a job killed it (issue 21).

A job runs inside its worker's process, so a job that segfaults (a C
extension, a GPU driver) or that the kernel kills for memory takes the worker
with it; so does the memory guard, which ends the worker to take the job's
memory back. Under a scheduler the rest of the allocation was then unused.

``benchgrid work --restart-crashed`` (every scheduler's job script passes it)
runs the worker as a child of a small parent that:

- forwards the hand-back signals (SLURM's ``B:USR1`` reaches only the batch
  shell, which this parent is; Grid Engine's ``USR2``; ``TERM``, ``INT``) to the
  worker that runs, so the scheduler's warning still reaches it;
- starts a new worker when the last one died by a signal or stopped for its
  memory guard (:data:`~benchgrid._exitcodes.EXIT_WORKER_RESTART`), unless
  SIGTERM or SIGINT came (a warning, USR1 or USR2, is the worker's to judge:
  SLURM's may come early, see :mod:`._allocation`), the deadline leaves less than ``MIN_LEFT_S``, or
  ``QUICK_CRASHES`` workers in a row died within ``QUICK_S`` of starting (a
  broken environment, not a job: the allocation ends, as it did before);
- exits with the last worker's code (``128 + n`` for death by signal *n*).

The parent knows how its worker died, so, like ``run``'s supervisor, it puts
the dead worker's jobs back at once (:func:`._process_end.expire_ended_process`):
the running job counts a lost run "killed by SIGSEGV" (``max_attempts`` ends a
job that kills every worker), or moves to a larger memory class after an OOM
kill; the memory guard already moved its job. Each worker is told
when the allocation started (``BENCHGRID_ALLOCATION_STARTED``), so a restarted
one judges jobs by the allocation's whole limit, not by what is left of it,
and what the workers before it did (``BENCHGRID_ALLOCATION_TALLY``: jobs
ended, started, seconds busy), so that ``--max-jobs`` is the allocation's
budget, not each worker's, and a pool's accounts count the whole allocation.

A worker of a self-sustaining pool decides its allocation's successors when
it ends; one that dies (a signal, or one of the exits that skip its last
steps) cannot. When no new worker follows it, the parent calls ``on_give_up``
with the last worker's id prefix, and the API decides in its place unless the
pool's ledger shows that worker's decision: a pool of one allocation whose
worker a job killed near the deadline would otherwise end with nobody to
submit the next one.

Examples
--------
>>> restart_reason(-11, lived_s=30.0, left_s=40.0, signalled=None, quick=0)
'died by SIGSEGV'
>>> restart_reason(0, lived_s=30.0, left_s=40.0, signalled=None, quick=0) is None
True
>>> restart_reason(-11, lived_s=30.0, left_s=4.0, signalled=None, quick=0) is None  # no time left
True
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .._exitcodes import EXIT_WORKER_RESTART

__all__ = ["run_restarting", "restart_reason", "ALLOCATION_STARTED_ENV", "allocation_started_s", "MIN_LEFT_S",
           "Tally", "allocation_tally", "ALLOCATION_TALLY_ENV"]

ALLOCATION_STARTED_ENV = "BENCHGRID_ALLOCATION_STARTED"
ALLOCATION_TALLY_ENV = "BENCHGRID_ALLOCATION_TALLY"
MIN_LEFT_S = 10.0  # a new worker needs more than its start-up (about a second) to run anything
QUICK_S = 10.0
QUICK_CRASHES = 5
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)


def allocation_started_s(default: float) -> float:
    """When this worker's allocation started (epoch s): the parent's ``BENCHGRID_ALLOCATION_STARTED``, else ``default``.

    >>> allocation_started_s(5.0) if ALLOCATION_STARTED_ENV not in os.environ else 5.0
    5.0
    """
    try:
        value = float(os.environ[ALLOCATION_STARTED_ENV])
    except (KeyError, ValueError):
        return default
    return min(value, default)


@dataclass(frozen=True)
class Tally:
    """What workers of one allocation did: jobs ended (done or error), jobs started, seconds in ended jobs.

    Examples
    --------
    >>> Tally(2, 3, 1.5) + Tally(1, 1, 0.5)
    Tally(done=3, ran=4, busy_s=2.0)
    >>> Tally.from_text(Tally(1, 2, 0.25).to_text())
    Tally(done=1, ran=2, busy_s=0.25)
    """

    done: int = 0
    ran: int = 0
    busy_s: float = 0.0

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(self.done + other.done, self.ran + other.ran, self.busy_s + other.busy_s)

    def to_text(self) -> str:
        return json.dumps({"done": self.done, "ran": self.ran, "busy_s": round(self.busy_s, 3)})

    @classmethod
    def from_text(cls, text: str) -> "Tally":
        d = json.loads(text)
        return cls(int(d["done"]), int(d["ran"]), float(d["busy_s"]))

    @classmethod
    def of_process(cls, root: str | os.PathLike[str], name: str, pid: int, killed_in_job: bool = False) -> "Tally":
        """What the worker(s) of process ``pid``, started as ``--name name``, recorded in their event logs.

        A job running when the process died left no record:
        ``killed_in_job`` counts it as started.
        """
        from ..store import Layout, read_records
        from ._process_end import worker_ids_of

        workers = Layout(Path(root)).workers_dir
        total = cls(0, int(killed_in_job), 0.0)
        for wid in worker_ids_of(workers, name, pid):
            try:
                records, _ = read_records(workers / wid / "events.log")
            except OSError:
                records = []
            ended = [r for r in records if r.get("op") in ("done", "error")]
            started = len(ended) + sum(r.get("op") in ("handback", "escalate") for r in records)
            busy = sum(float(r["t1"]) - float(r["t0"]) for r in ended if r.get("t1") is not None)
            total += cls(len(ended), started, busy)
        return total


def allocation_tally() -> Tally:
    """What the workers before this one in its allocation did (``BENCHGRID_ALLOCATION_TALLY``; none: nothing).

    >>> allocation_tally() if ALLOCATION_TALLY_ENV not in os.environ else Tally()
    Tally(done=0, ran=0, busy_s=0.0)
    """
    try:
        return Tally.from_text(os.environ[ALLOCATION_TALLY_ENV])
    except (KeyError, ValueError, TypeError):
        return Tally()


def with_max_jobs(argv: Sequence[str], n: int) -> list[str]:
    """``argv`` with its ``--max-jobs`` set to ``n``.

    >>> with_max_jobs(["-m", "benchgrid", "work", "p", "--max-jobs", "10"], 7)
    ['-m', 'benchgrid', 'work', 'p', '--max-jobs', '7']
    >>> with_max_jobs(["work", "p", "--max-jobs=10"], 3)
    ['work', 'p', '--max-jobs', '3']
    """
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--max-jobs":
            next(args, None)
        elif not arg.startswith("--max-jobs="):
            out.append(arg)
    return out + ["--max-jobs", str(n)]


def restart_reason(returncode: int, *, lived_s: float, left_s: float | None, signalled: int | None,
                   quick: int) -> str | None:
    """Why a worker that ended with ``returncode`` is replaced (None: it is not).

    ``left_s`` is the time to the deadline (None: unknown), ``signalled`` a
    SIGTERM or SIGINT this parent forwarded, ``quick`` the workers before it
    that died within ``QUICK_S`` of starting, in a row.
    """
    if signalled is not None or (left_s is not None and left_s < MIN_LEFT_S):
        return None
    if returncode < 0:
        why = f"died by {_signal_name(-returncode)}"
    elif returncode == EXIT_WORKER_RESTART:
        why = "stopped itself to be replaced (its memory guard, or a job past its timeout)"
    else:
        return None
    if lived_s < QUICK_S and quick + 1 >= QUICK_CRASHES:
        return None
    return why


def run_restarting(argv: Sequence[str], *, root: str | os.PathLike[str], name: str, until: float | None,
                   started: float | None = None, max_jobs: int | None = None,
                   on_give_up: Callable[[Tally, str, str], None] | None = None) -> int:
    """Run ``python <argv>`` (a ``work`` command) until it ends for good; return its exit code.

    ``root`` is the project and ``name`` the workers' prefix (their ids are
    ``<name>-<pid>-<hex>``); ``until`` is the worker's deadline (epoch s,
    None: unknown); ``started`` when the allocation started (default: now);
    ``max_jobs`` the allocation's job budget (each new worker gets what is
    left of it). ``on_give_up(tally, why, prefix)`` is called when no new
    worker follows the last one: what the allocation's workers did, why it
    ends, and the last worker's id prefix (``<name>-<pid>-``), so that the
    caller can tell whether that worker took its last steps itself.
    """
    started = time.time() if started is None else started
    tally = allocation_tally()
    child: subprocess.Popen[bytes] | None = None
    signalled: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):  # the end; a warning (USR1, USR2) is the worker's to judge
            signalled.append(signum)
        if child is not None and child.returncode is None:
            try:
                os.kill(child.pid, signum)
            except ProcessLookupError:
                pass

    old = {s: signal.signal(s, forward) for s in _FORWARDED}
    quick, restarts = 0, 0
    try:
        while True:
            t0 = time.time()
            env = dict(os.environ, **{ALLOCATION_STARTED_ENV: repr(started), ALLOCATION_TALLY_ENV: tally.to_text()})
            run_argv = list(argv) if max_jobs is None else with_max_jobs(argv, max_jobs - tally.ran)
            child = subprocess.Popen([sys.executable, *run_argv], env=env)
            if signalled:  # the end came while no worker ran: this one hands back at once (a second is harmless)
                os.kill(child.pid, signalled[-1])
            code = child.wait()
            lived = time.time() - t0
            killed_in_job = bool(_put_back_jobs_of(root, name, child.pid, code)) if code < 0 else False
            tally += Tally.of_process(root, name, child.pid, killed_in_job)
            left = None if until is None else until - time.time()
            why = restart_reason(code, lived_s=lived, left_s=left, signalled=signalled[0] if signalled else None,
                                 quick=quick)
            not_why: str | None = None  # why a worker that could have been replaced was not
            if why is not None and max_jobs is not None and tally.ran >= max_jobs:
                why, not_why = None, f"the allocation's job budget of {max_jobs} is spent"
            elif why is None and (code < 0 or code == EXIT_WORKER_RESTART) and not signalled:
                not_why = _why_not(left, quick)
            if why is None:
                ended = _ended_text(code)
                if not_why is not None:  # a worker's own end (done, a full disk) it has said itself
                    print(f"benchgrid: the worker {ended} after {lived:.0f} s; not restarted ({not_why})",
                          file=sys.stderr, flush=True)
                if on_give_up is not None:
                    on_give_up(tally, f"its worker {ended}" + (f"; not restarted ({not_why})" if not_why else ""),
                               f"{name}-{child.pid}-")
                return 128 - code if code < 0 else code
            quick = quick + 1 if lived < QUICK_S else 0
            restarts += 1
            left_text = "" if left is None else f" with {left:.0f} s left"
            print(f"benchgrid: the worker {why} after {lived:.0f} s{left_text}: starting a new worker in this "
                  f"allocation (restart {restarts})", file=sys.stderr, flush=True)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _put_back_jobs_of(root: str | os.PathLike[str], name: str, pid: int, code: int) -> int:
    """The dead worker's jobs back now, its running one counting a lost run that says how it died; how many."""
    from ..store import Queue, read_project_json
    from ._process_end import expire_ended_process

    root_path = Path(root).absolute()
    try:
        lost, _oom = expire_ended_process(Queue(root_path, read_project_json(root_path)["settings"]), name, pid, code,
                                          by="allocation")
    except (OSError, ValueError, KeyError) as err:  # the next worker's scan (or a lease later) puts them back
        print(f"benchgrid: could not put back the dead worker's jobs now ({err}); they go back when it is "
              "found dead", file=sys.stderr, flush=True)
        return 0
    return len(lost)


def _signal_name(n: int) -> str:
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


def _ended_text(code: int) -> str:
    return f"died by {_signal_name(-code)}" if code < 0 else f"ended with exit code {code}"


def _why_not(left: float | None, quick: int) -> str:
    if left is not None and left < MIN_LEFT_S:
        return f"{max(0.0, left):.0f} s left before the deadline"
    return f"{quick + 1} workers in a row died within {QUICK_S:.0f} s of starting"
