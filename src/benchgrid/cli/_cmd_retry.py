"""benchgrid retry DIR [--errors] [--expired]"""

from __future__ import annotations

import argparse

from .._errors import InputError

HELP = "put errored or expired jobs back in the queue"
STATE_NAMES = ("error", "errors", "expired", "failed", "stranded")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--errors", action="store_true", help="jobs whose runner raised")
    p.add_argument("--expired", action="store_true", help="jobs lost to dead workers (failed or stranded)")
    p.add_argument("--state", action="append", default=[], help=f"a state to retry: one of {STATE_NAMES}")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="only jobs with this parameter value, e.g. learner_id=rf (repeatable: all must hold)")


def run(args: argparse.Namespace) -> int:
    from ..api import Project

    for s in args.state:
        if s not in STATE_NAMES:
            raise InputError(f"--state must be one of {STATE_NAMES}, got {s!r}")
    errors = args.errors or any(s in ("error", "errors") for s in args.state)
    expired = args.expired or any(s in ("expired", "failed", "stranded") for s in args.state)
    if not (errors or expired):
        errors = True
    from ._where import parse_where

    where = parse_where(args.where)
    proj = Project.open(args.dir)
    n = proj.retry(errors=errors, expired=expired, where=where)
    print(f"put {n} job(s) back; run them with: benchgrid run {args.dir}")
    return 0
