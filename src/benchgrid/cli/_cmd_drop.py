"""benchgrid drop DIR --where COLUMN=VALUE [--where ...]"""

from __future__ import annotations

import argparse

HELP = "drop the jobs matching --where: no worker runs them (undo with `benchgrid undrop`)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE", required=True,
                   help="only jobs with this parameter value, e.g. learner_id=rf (repeatable: all must hold)")


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from ._where import parse_where

    where = parse_where(args.where)
    proj = Project.open(args.dir)
    n = proj.drop(where=where or {})
    print(f"dropped {n} job(s); no worker will run them (bring them back with: benchgrid undrop {args.dir} "
          f"{' '.join('--where ' + w for w in args.where)})")
    return 0
