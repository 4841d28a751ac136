"""benchgrid run DIR --workers N

Exit codes (see :mod:`benchgrid._exitcodes`): 0 every job done, 1 some
runner errors, 2 bad input or damaged project, 3 some jobs failed (lost
``max_attempts`` runs), 4 jobs left because workers kept dying, 5 disk
full, 130 interrupted.
"""

from __future__ import annotations

import argparse
from typing import Any
import sys

from .._errors import InputError

HELP = "run N local worker processes with a progress bar and wait"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--workers", "-w", type=int, default=2, help="worker processes (0: in this process, for pdb)")
    p.add_argument("--trust-owner", action="store_true",
                   help="accept a project owned by another user (its workers run code as you)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--mem-gb", type=float, metavar="GB",
        help="each worker's memory budget: it claims only jobs expected to fit (projects with a memory_key)",
    )
    p.add_argument("--gpus", type=int, metavar="N",
                   help="GPUs each worker has: it takes the jobs that need them (projects with resource_keys)")
    p.add_argument(
        "--job-timeout", type=float, metavar="SECONDS",
        help="stop a job running longer than this (a lost run; default: the project's job_timeout_s)",
    )


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from .._format import format_counts
    from ._common import check_timeout

    if args.workers < 0:
        raise InputError(f"--workers must be >= 0 (0 runs jobs in this process), got {args.workers}")
    proj = Project.open(args.dir)
    options: dict[str, Any] = {}
    if args.mem_gb is not None:
        if not (0 < args.mem_gb < float("inf")):
            raise InputError(f"--mem-gb must be a number of GB > 0, got {args.mem_gb!r}")
        options["mem_gb"] = args.mem_gb
    if args.gpus is not None:
        if args.gpus < 0:
            raise InputError(f"--gpus must be a count of GPUs >= 0, got {args.gpus!r}")
        options["gpus"] = args.gpus
    if args.job_timeout is not None:
        options["job_timeout_s"] = check_timeout(args.job_timeout, "--job-timeout")
    status = proj.run(n_workers=args.workers, progress=not args.no_progress, trust_owner=args.trust_owner, **options)
    print(f"{proj.path}: {format_counts(status.counts)}")
    if status.problem:  # why this run stopped: not a hint to start workers, which just failed
        print(f"benchgrid: {status.problem}", file=sys.stderr)
    elif status.hint:
        print(status.hint)
    return status.exit_code
