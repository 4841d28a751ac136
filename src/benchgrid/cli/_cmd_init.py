"""benchgrid init DIR (--jobs FILE --runner MOD:FUNC | --grid grid.py)"""

from __future__ import annotations

import argparse
import sys

from .._errors import InputError

HELP = "create a project directory from a job table or an ML grid file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..store import ProjectSettings  # defaults and help of the settings: said there, once

    default, help_of = ProjectSettings(), ProjectSettings.cli_help
    p.add_argument("dir", help="the project directory to create (must not exist, or be empty)")
    p.add_argument("--jobs", help="job table: .csv, .json, .jsonl or .parquet, one job per row")
    p.add_argument("--runner", help="'package.module:function' called with each row as keyword arguments")
    p.add_argument("--grid", help="a Python file defining tasks, learners, cv and measures (ML grid)")
    p.add_argument("--random-state", type=int, default=0, help="project seed (per-job seeds derive from it)")
    p.add_argument("--lease-s", type=float, default=default.lease_s, help=help_of("lease_s"))
    p.add_argument("--max-attempts", type=int, default=default.max_attempts, help=help_of("max_attempts"))
    p.add_argument("--lock", default=default.lock, help=help_of("lock"))
    p.add_argument("--group-shared", action="store_true", help=help_of("group_shared"))
    p.add_argument("--job-timeout", type=float, metavar="SECONDS", default=default.job_timeout_s,
                   help=help_of("job_timeout_s"))
    p.add_argument("--memory-key", metavar="COLUMN", help=help_of("memory_key"))
    p.add_argument("--time-key", metavar="COLUMN", help=help_of("time_key"))
    p.add_argument("--resource-key", action="append", dest="resource_keys", metavar="COLUMN",
                   help=help_of("resource_keys"))


def run(args: argparse.Namespace) -> int:
    import sys
    import warnings

    from ..store import GroupWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GroupWarning)
        code = _create(args)
    for w in caught:
        if issubclass(w.category, GroupWarning):
            print(f"benchgrid: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return code


def _create(args: argparse.Namespace) -> int:
    from ..api import Project

    removed, kept = Project.remove_interrupted_creations(args.dir)
    for tmp in removed:
        print(f"removed {tmp}, left by an interrupted init", file=sys.stderr)
    for tmp in kept:
        print(f"note: {tmp} is left by another init (running, or on another host); remove it if it is not", file=sys.stderr)

    options = dict(
        random_state=args.random_state,
        lease_s=args.lease_s,
        max_attempts=args.max_attempts,
        lock=args.lock,
        group_shared=args.group_shared,
        job_timeout_s=args.job_timeout,
    )
    for key in ("memory_key", "time_key", "resource_keys"):  # issue 21: the classes of the lanes
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    if args.grid:
        if args.jobs or args.runner:
            raise InputError("give either --grid or --jobs with --runner, not both")
        from ..api import read_grid_file

        # as `python grid.py` would: modules next to the grid file and in this folder import
        grid, code_path = read_grid_file(args.grid, group_shared=args.group_shared)
        proj = Project.create(args.dir, grid.pop("tasks"), grid.pop("learners"), grid.pop("cv"), **grid, **options,
                              code_path=code_path)  # fmt: skip
    else:
        if not args.jobs or not args.runner:
            raise InputError("init needs --jobs FILE and --runner 'package.module:function' (or --grid grid.py)")
        from ._common import read_jobs_file

        proj = Project.create(args.dir, read_jobs_file(args.jobs), args.runner, **options)
    n = len(proj.jobs())
    import shlex

    print(f"created {proj.path} with {n} jobs; run them with: benchgrid run {shlex.quote(str(proj.path))} --workers 2")
    if args.group_shared:
        import os

        from ..store import group_name

        print(f"shared with group {group_name(os.stat(proj.path).st_gid)!r} (see docs/security.md)")
    return 0
