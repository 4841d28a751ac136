"""benchgrid cancel DIR: scancel this project's SLURM workers (only them)."""

from __future__ import annotations

import argparse

HELP = "cancel this project's SLURM workers"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")


def run(args: argparse.Namespace) -> int:
    from ..api._project import Project
    from ..backends.slurm import cancel

    cancelled = cancel(Project.open(args.dir))
    if cancelled:
        print(f"cancelled job array(s) {', '.join(cancelled)}; their running jobs are handed back")
    else:
        print("no pending or running SLURM workers of this project")
    return 0
