"""benchgrid status DIR [--json]"""

from __future__ import annotations

import argparse
import json

HELP = "counts per state, running jobs, errors, throughput and ETA"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--watch", action="store_true", help="live view until the project is done")


def run(args: argparse.Namespace) -> int:
    from ..api._project import Project
    from ..store._status_text import status_lines

    proj = Project.open(args.dir)
    if args.watch:
        from ._watch import watch

        return watch(proj)
    status = proj.status()
    slurm = _slurm_counts(proj)
    if args.json:
        print(json.dumps({**status.to_dict(), "code_path": proj.info.get("code_path", []), "slurm_workers": slurm}, indent=1))
        return 0
    print("\n".join(status_lines(status, project=proj.info, slurm=slurm)))
    return 0


def _slurm_counts(proj: object) -> dict[str, int] | None:
    """SLURM worker counts when the project was ever submitted (and squeue answers)."""
    from ..backends import slurm

    if not slurm.recorded_job_ids(proj):  # type: ignore[arg-type]
        return None
    try:
        return slurm.worker_counts(proj)  # type: ignore[arg-type]
    except Exception as err:  # noqa: BLE001 - status must work off the cluster too
        print(f"  (SLURM workers unknown: {err})")
        return None
