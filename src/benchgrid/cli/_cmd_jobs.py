"""benchgrid jobs DIR"""

from __future__ import annotations

import argparse

HELP = "print the job table"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--limit", type=int, default=20, help="rows to show (0: all)")


def run(args: argparse.Namespace) -> int:
    from ..api import Project

    from .._errors import InputError

    if args.limit < 0:
        raise InputError(f"--limit must be >= 0 (0 shows every job), got {args.limit}")
    df = Project.open(args.dir).jobs()
    shown = df if args.limit == 0 else df.head(args.limit)
    print(shown.to_string(index=False))
    if len(shown) < len(df):
        print(f"... {len(df)} jobs in all (--limit 0 shows every one)")
    return 0
