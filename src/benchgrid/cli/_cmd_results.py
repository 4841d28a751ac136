"""benchgrid results DIR [-o FILE]"""

from __future__ import annotations

import argparse

from .._errors import InputError

HELP = "one table, one row per job, to stdout or a .csv/.parquet file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("-o", "--output", help="write to this .csv or .parquet file")
    p.add_argument("--scores", action="store_true",
                   help="ML projects: the score table (splitter's column names, rows of replaced "
                        "tasks and learners left out)")
    p.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                   help="only rows with this value, e.g. learner_id=rf (repeatable)")
    p.add_argument("--dropped", action="store_true",
                   help="keep the rows of dropped jobs (state 'dropped'); left out by default")


def run(args: argparse.Namespace) -> int:
    from ..api import Project

    if args.output and not args.output.endswith((".csv", ".parquet")):
        raise InputError(f"-o must end in .csv or .parquet, got {args.output!r}")
    if args.output:
        from ._common import check_output_path

        check_output_path(args.output)
    from ._where import parse_where

    where = parse_where(args.where)
    proj = Project.open(args.dir)
    if args.scores:
        from ..api import MLProject

        if not isinstance(proj, MLProject):
            raise InputError(f"--scores applies to ML projects; {str(proj.path)!r} is a generic project: drop --scores")
        df = proj.scores(where=where)
    else:
        df = proj.results(dropped=args.dropped)
        if where:
            from ..api import select_rows

            df = df[select_rows(df, where)]
    if not args.output:
        print(df.to_string(index=False))
        return 0
    from ..store import atomic_path

    with atomic_path(args.output, project=False) as tmp:  # no half-written table on failure
        if args.output.endswith(".csv"):
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    print(f"wrote {len(df)} rows to {args.output}")
    return 0
