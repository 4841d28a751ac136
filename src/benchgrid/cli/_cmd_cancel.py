"""benchgrid cancel DIR [--backend NAME]: cancel this project's scheduler workers (only them)."""

from __future__ import annotations

import argparse

HELP = "cancel this project's scheduler workers"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--backend", "-b", help="only this scheduler (slurm, sge); default: every one used")


def run(args: argparse.Namespace) -> int:
    from ..api import Project

    cancelled = Project.open(args.dir).cancel(backend=args.backend)
    ids = [f"{name} {job_id}" for name, job_ids in cancelled.items() for job_id in job_ids]
    if ids:
        print(f"cancelled job array(s) {', '.join(ids)}; their running jobs are handed back")
    else:
        print("no pending or running scheduler workers of this project")
    return 0
