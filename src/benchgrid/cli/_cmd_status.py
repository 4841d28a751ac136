"""benchgrid status DIR [--json]"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..api import Project

HELP = "counts per state, running jobs, errors, throughput and ETA"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", action="store_true", help="live view until the project is done")


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from ..store import status_lines

    if args.watch and args.json:
        from .._errors import InputError

        raise InputError("--json and --watch do not go together: --json prints one snapshot, --watch a live view")
    proj = Project.open(args.dir)
    if args.watch:
        from ._watch import watch

        return watch(proj)
    status = proj.status()
    schedulers = _scheduler_counts(proj, quiet=args.json)
    pools = proj.pools(ask_scheduler=True)
    if args.json:
        print(json.dumps({**status.to_dict(), "code_path": proj.info.get("code_path", []),
                          "pools": [{"name": p.name, "stopped": p.stopped, "broken": p.broken,
                                     "generation": p.generation, "submitted": p.n_submitted, "running": p.running,
                                     "pending": p.pending, "ended": len(p.ending), "jobs_done": p.jobs_done,
                                     "core_hours": p.core_s / 3600, "busy_core_hours": p.busy_core_s / 3600,
                                     "efficiency": p.efficiency}
                                    for p in pools],
                          "scheduler_workers": schedulers, "slurm_workers": schedulers.get("slurm")}, indent=1))
        return 0
    titled = {_TITLES.get(name, name): n for name, n in schedulers.items()}
    print("\n".join(status_lines(status, project=proj.info, schedulers=titled)))
    for pool in pools:
        print("\n".join(f"  {line}" for line in pool.describe().splitlines()))
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
