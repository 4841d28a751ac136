"""benchgrid check DIR [--json]"""

from __future__ import annotations

import argparse
import json

HELP = "prove from the logs that every job was handed out once; exit 1 if not"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ..api import Project

    proj = Project.open(args.dir)
    report = proj.check()
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0 if report.ok else 1
    verdict = "OK" if report.ok else f"{len(report.problems)} problem(s)"
    print(
        f"project {proj.path}: {report.n_claimed} job runs claimed (in {report.n_claims} claim records), "
        f"{report.n_results} results: {verdict}"
    )
    for p in report.problems:
        print(f"  problem: {p}")
    for n in report.notes:
        print(f"  note: {n}")
    return 0 if report.ok else 1
