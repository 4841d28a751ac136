"""benchgrid run DIR --workers N"""

from __future__ import annotations

import argparse

from .._errors import InputError

HELP = "run N local worker processes with a progress bar and wait"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--workers", "-w", type=int, default=2, help="worker processes (0: in this process, for pdb)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..api._project import Project
    from ..backends._base import format_counts

    if args.workers < 0:
        raise InputError(f"--workers must be >= 0 (0 runs jobs in this process), got {args.workers}")
    proj = Project.open(args.dir)
    from ..worker._code_path import check_runner_findable

    check_runner_findable(proj.info)  # one clear error rather than one per worker
    status = proj.run(n_workers=args.workers, progress=not args.no_progress)
    print(f"{proj.path}: {format_counts(status.counts)}")
    if status.hint:
        print(status.hint)
    return 0 if status.finished and status.counts["error"] == 0 and status.counts["failed"] == 0 else 1
