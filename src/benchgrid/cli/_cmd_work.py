"""benchgrid work DIR: one worker (what every backend launches)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
HELP = "run one worker: claim jobs, run them, record results, until none is left"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--name", help="readable prefix of the worker id (default: host name)")
    p.add_argument("--max-jobs", type=int, help="stop after this many jobs")
    p.add_argument("--until", help="deadline: Unix seconds, ISO time or +DURATION (+30m); jobs that would not finish are not started")
    p.add_argument("--max-batch", type=int, default=1024, help="most jobs claimed at once when jobs are tiny")
    p.add_argument("--trust-owner", action="store_true", help="work on a project owned by another user (it runs code as you)")
    p.add_argument("--default-job-s", type=float, help="expected seconds of a job of an unseen kind (walltime rule)")
    p.add_argument(
        "--job-timeout", "--job-timeout-s", dest="job_timeout", type=float, metavar="SECONDS",
        help="stop a job running longer than this (a lost run; default: the project's job_timeout_s)",
    )
    p.add_argument(
        "--restart-crashed", action="store_true",
        help="run the worker as a child and start a new one when a job kills it (a segfault) or its memory guard "
             "stops it, while the deadline leaves time; signals reach the worker that runs (scheduler scripts pass it)",
    )
    p.add_argument("--pool", help=argparse.SUPPRESS)  # set by submit --until-done: this worker's pool decides successors
    # set by a pool's job script when its setup ended the script before the worker started: decide, run nothing
    p.add_argument("--setup-failed", type=int, metavar="CODE", help=argparse.SUPPRESS)
    p.add_argument(
        "--quiet", action="store_true",
        help="no summary line at the end (for a command that starts workers and summarises the run itself)",
    )
    p.add_argument(
        "--resource", action="append", default=[], metavar="NAME=COUNT",
        help="a resource this worker has, such as gpus=1 (repeatable): it claims the jobs that need it first "
             "(default: the GPUs SLURM or CUDA_VISIBLE_DEVICES gave it; projects with resource_keys)",
    )
    p.add_argument("--gpus", type=int, metavar="N", help="GPUs this worker has (the same as --resource gpus=N)")
    p.add_argument(
        "--mem-gb", type=float,
        help="memory budget in GB: claim only jobs expected to fit (default: SLURM's allocation, the cgroup's limit)",
    )


def restart_argv() -> list[str]:
    """The arguments that start this worker afresh: ``python -m benchgrid`` and this command's own.

    Not ``sys.orig_argv``: a worker forked from the local fork server has the
    server's command line there (``python -c ... FD``), and re-executing it
    printed the server's ``Bad file descriptor`` traceback after every job timeout.
    The interpreter's own options (``-X``, ``-W``) are kept.
    """
    flags: list[str] = []
    args = iter(sys.orig_argv[1:])
    for arg in args:  # the interpreter's options end where -m, -c or a script begins
        if arg in ("-m", "-c") or not arg.startswith("-"):
            break
        flags.append(arg)
        if arg in ("-X", "-W"):  # an option with its value apart
            flags.append(next(args, ""))
    return [*flags, "-m", "benchgrid", *sys.argv[1:]]


def child_argv(argv: list[str], until: float | None) -> list[str]:
    """``argv`` without ``--restart-crashed``, its ``--until`` the absolute deadline (a restart must not move it).

    >>> child_argv(["-m", "benchgrid", "work", "p", "--restart-crashed", "--until", "+30m"], 1e9)
    ['-m', 'benchgrid', 'work', 'p', '--until', '1000000000.0']
    """
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--restart-crashed":
            continue
        if arg == "--until":
            next(args, None)
            out += ["--until", repr(until)] if until is not None else []
            continue
        if arg.startswith("--until="):
            out += ["--until", repr(until)] if until is not None else []
            continue
        out.append(arg)
    return out


def run(args: argparse.Namespace) -> int:
    from ..worker import HandbackSignals, Worker
    from ._common import check_timeout, parse_until

    until = parse_until(args.until)
    if args.restart_crashed and args.setup_failed is None:
        from ..api import work_in_allocation

        return work_in_allocation(child_argv(restart_argv(), until), args.dir, name=args.name, until=until,
                                  max_jobs=args.max_jobs, pool=args.pool)
    if args.pool:
        return _pooled(args)
    job_timeout_s = None if args.job_timeout is None else check_timeout(args.job_timeout, "--job-timeout")
    owns_process = bool(getattr(args, "_owns_process", False))
    # Handle the hand-back signals before the runner's imports start threads (numpy's BLAS
    # pool): a SIGTERM that such a thread took would otherwise end the process (worker/_signals)
    with HandbackSignals():
        worker = Worker(
            args.dir, name=args.name, max_jobs=args.max_jobs, until=until, default_job_s=args.default_job_s,
            max_batch=args.max_batch, mem_gb=args.mem_gb, trust_owner=args.trust_owner,
            job_timeout_s=job_timeout_s, owns_process=owns_process,
            # after a job timeout the worker starts afresh as the same command (and, under SLURM, the same task)
            restart_argv=restart_argv() if owns_process else None,
            on_end=getattr(args, "_on_end", None),
            resources=_resources(args),
        )
        s = worker.run()
    _LAST.update(reason=s.reason, done=s.done + s.errors)
    if not args.quiet:  # `run` and `demo` draw a progress bar this line would print into
        print(
            f"worker {s.worker_id}: {s.done} done, {s.errors} errors, {s.handed_back} handed back "
            f"in {s.seconds:.1f} s ({s.reason})",
            file=sys.stderr,
        )
    return 0


def _resources(args: argparse.Namespace) -> dict[str, int] | None:
    """``--resource NAME=COUNT`` and ``--gpus N`` as one dict (None: none given, the worker looks itself)."""
    from .._errors import InputError

    given = dict(parse_resource(text) for text in args.resource)
    if args.gpus is not None:
        if args.gpus < 0:
            raise InputError(f"--gpus must be a count of GPUs >= 0, got {args.gpus!r}")
        if given.get("gpus", args.gpus) != args.gpus:
            raise InputError(f"--gpus {args.gpus} and --resource gpus={given['gpus']} disagree: give one of them")
        given["gpus"] = args.gpus
    return given if (args.resource or args.gpus is not None) else None


def parse_resource(text: str) -> tuple[str, int]:
    """``"gpus=2"`` -> ``("gpus", 2)``; a bare name counts 1; anything else is an :class:`InputError`.

    >>> parse_resource("gpus=2"), parse_resource("fpga")
    (('gpus', 2), ('fpga', 1))

    >>> parse_resource("gpus=-1")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: --resource must be NAME=COUNT with a count >= 0, such as gpus=1, got 'gpus=-1'
    """
    name, eq, count = str(text).strip().partition("=")
    if not _NAME.match(name) or (eq and not count.strip().isdigit()):
        from .._errors import InputError

        raise InputError(f"--resource must be NAME=COUNT with a count >= 0, such as gpus=1, got {text!r}")
    return name, int(count) if eq else 1


def _pooled(args: argparse.Namespace) -> int:
    """A worker of a self-sustaining pool: work, then (however it ends) decide this allocation's successors."""
    import time

    from ..api import end_of_pooled_worker
    from .._errors import BenchgridError

    pool, args.pool = args.pool, None
    started = time.time()

    decided: list[bool] = []

    def decide(done: int, why: str, ran: int = 0, busy_s: float = 0.0, worker: str | None = None) -> None:
        decided.append(True)
        try:
            said = end_of_pooled_worker(args.dir, pool, started=started, done=done, why=why, ran=ran, busy_s=busy_s,
                                        worker=worker)
        except BenchgridError as err:  # the next worker of the pool that ends looks again
            said = f"no successor decided: {err}"
        print(f"pool {pool}: {said}", file=sys.stderr, flush=True)

    if getattr(args, "setup_failed", None) is not None:  # the job script's setup ended it: no worker to run
        decide(0, f"its setup ended the job script (exit code {args.setup_failed}) before the worker started")
        return args.setup_failed or 1
    # the worker calls this however it ends, a hand-back signal included (its process ends right after)
    args._on_end = lambda s: decide(s.done + s.errors, s.reason, ran=s.done + s.errors + s.handed_back, busy_s=s.busy_s,
                                    worker=s.worker_id)
    code, why = 1, "the worker failed to start"
    try:
        code = run(args)
    except BaseException as err:
        why = f"{type(err).__name__}: {err}"
        raise
    finally:
        if not decided:  # the worker never ran (a broken environment, a bad module)
            decide(0, why)
    return code


_LAST: dict[str, Any] = {}  # the last worker's summary, for _pooled
