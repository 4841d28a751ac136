"""benchgrid undrop DIR [--where COLUMN=VALUE ...]"""

from __future__ import annotations

import argparse

HELP = "bring dropped jobs back (all, or those matching --where)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="only jobs with this parameter value, e.g. learner_id=rf (repeatable: all must hold)")


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from ._where import parse_where

    where = parse_where(args.where)
    proj = Project.open(args.dir)
    n = proj.undrop(where=where)
    print(f"brought back {n} dropped job(s); run those not done with: benchgrid run {args.dir}")
    return 0
