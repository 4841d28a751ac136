"""benchgrid add DIR (--jobs FILE | --grid more.py [--replace])"""

from __future__ import annotations

import argparse

from .._errors import InputError

HELP = "append jobs to a project (workers already running pick them up)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--jobs", help="job table file (.csv, .json, .jsonl, .parquet); rows already present are skipped")
    p.add_argument("--grid", help="a Python file defining more tasks and/or learners (ML projects)")
    p.add_argument("--trust-owner", action="store_true",
                   help="accept a project owned by another user (its workers run code as you)")
    p.add_argument("--replace", action="store_true", help="ML: a changed task or learner replaces the old one")


def run(args: argparse.Namespace) -> int:
    from .._errors import ProjectError
    from ..api import MLProject, Project

    proj = Project.open(args.dir)
    if bool(args.jobs) == bool(args.grid):
        raise InputError("add needs exactly one of --jobs FILE or --grid FILE")
    if args.jobs:
        from ._common import read_jobs_file

        n = proj.add_jobs(read_jobs_file(args.jobs))
    else:
        from ..api import read_grid_file

        # as `python more.py` would import: the project's code folders and the grid file's own
        grid, _ = read_grid_file(args.grid, project=proj)
        if not isinstance(proj, MLProject):
            raise ProjectError(
                f"--grid adds tasks and learners to an ML project, and {str(proj.path)!r} was created from a "
                "job table and a runner; add rows with --jobs FILE instead"
            )
        n = proj.add(tasks=grid.get("tasks"), learners=grid.get("learners"), replace=args.replace,
                     trust_owner=args.trust_owner)
    print(f"added {n} jobs to {proj.path}")
    return 0
