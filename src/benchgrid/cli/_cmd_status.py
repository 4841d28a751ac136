"""benchgrid status DIR [--json]"""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import Project

HELP = "counts per state, running jobs, errors, throughput and ETA"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", action="store_true", help="live view until the project is done")


def run(args: argparse.Namespace) -> int:
    from ..api._project import Project
    from ._common import fmt_seconds

    if args.watch and args.json:
        from .._errors import InputError

        raise InputError("--json and --watch do not go together: --json prints one snapshot, --watch a live view")
    proj = Project.open(args.dir)
    if args.watch:
        from ._watch import watch

        return watch(proj)
    status = proj.status()
    schedulers = _scheduler_counts(proj, quiet=args.json)
    if args.json:
        print(json.dumps({**status.to_dict(), "scheduler_workers": schedulers,
                          "slurm_workers": schedulers.get("slurm")}, indent=1))
        return 0
    c = status.counts
    print(f"project {proj.path}: {status.n_jobs} jobs")
    print("  " + "  ".join(f"{s} {c[s]}" for s in c))
    w = status.workers
    print(f"  workers: {w.get('alive', 0)} alive, {w.get('dead', 0)} dead, {w.get('exited', 0)} exited")
    for name, n in schedulers.items():
        print(f"  {_TITLES.get(name, name)} workers: {n['pending']} pending, {n['running']} running, {n['ended']} ended")
    rate = status.recent_per_s or status.overall_per_s
    print(f"  throughput: {rate or 0:,.2f} jobs/s   ETA: {fmt_seconds(status.eta_s)}")
    if status.running:
        print("  running:")
        for r in status.running[:20]:
            print(f"    job {r['job_id']} (attempt {r['attempt']}) on {r['worker']} @ {r['host']}: {fmt_seconds(r['elapsed_s'])}")
    if status.errors:
        print("  recent errors (benchgrid results DIR, or Project.errors() for tracebacks):")
        for e in status.errors:
            print(f"    job {e['job_id']} attempt {e['attempt']}: {e['error']}")
    if status.stranded:
        print(f"  stranded jobs: {status.stranded[:20]}")
    if status.stale_results:
        print(f"  {status.stale_results} result(s) of superseded attempts were ignored (fencing)")
    if status.hint:
        print(f"  hint: {status.hint}")
    checked = status.last_check
    if checked is not None and not checked["ok"]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(checked["t"]))
        print(f"  WARNING: the last check ({when}) found {checked['n_problems']} problem(s); "
              f"see `benchgrid check {proj.path}`")
    return 0


_TITLES = {"slurm": "SLURM", "sge": "Grid Engine"}


def _scheduler_counts(proj: "Project", *, quiet: bool) -> dict[str, dict[str, int]]:
    """Worker counts per scheduler the project was submitted to (and that answers)."""
    from .._errors import BenchgridError

    try:
        return proj.scheduler_workers()
    except BenchgridError as err:  # status must work off the cluster too
        if not quiet:
            print(f"  (scheduler workers unknown: {err})")
        return {}
