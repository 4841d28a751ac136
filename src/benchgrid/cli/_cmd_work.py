"""benchgrid work DIR: one worker (what every backend launches)."""

from __future__ import annotations

import argparse
import sys

HELP = "run one worker: claim jobs, run them, record results, until none is left"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--name", help="readable prefix of the worker id (default: host name)")
    p.add_argument("--max-jobs", type=int, help="stop after this many jobs")
    p.add_argument("--until", help="deadline: Unix seconds, ISO time or +DURATION (+30m); jobs that would not finish are not started")
    p.add_argument("--max-batch", type=int, default=1024, help="most jobs claimed at once when jobs are tiny")
    p.add_argument("--default-job-s", type=float, help="expected seconds of a job of an unseen kind (walltime rule)")


def run(args: argparse.Namespace) -> int:
    import signal

    from ..worker._worker import HANDBACK_SIGNALS, Worker
    from ._common import parse_until

    until = parse_until(args.until)
    # Block the hand-back signals before the runner's imports start threads (numpy's
    # BLAS pool): a thread that does not block SIGTERM would take it and die by it.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDBACK_SIGNALS)
    try:
        worker = Worker(
            args.dir, name=args.name, max_jobs=args.max_jobs, until=until, default_job_s=args.default_job_s,
            max_batch=args.max_batch,
        )
        s = worker.run()
    finally:  # called in-process (tests, notebooks): leave the caller's mask as it was
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    print(
        f"worker {s.worker_id}: {s.done} done, {s.errors} errors, {s.handed_back} handed back "
        f"in {s.seconds:.1f} s ({s.reason})",
        file=sys.stderr,
    )
    return 0
