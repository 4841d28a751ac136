"""benchgrid submit DIR --workers W [--backend slurm|sge] [scheduler options] [--dry-run]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "submit W workers to SLURM or Grid Engine as one job array"

# option -> backends that take it (the backend itself refuses the others, naming them)
_COMMON = ("time", "mem_gb", "cpus_per_worker", "setup", "max_parallel", "warning_s", "trust_owner")
_SLURM = ("partition", "account", "qos", "gres", "sbatch_args")
_SGE = ("queue", "project", "pe", "mem_resource", "qsub_args")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory (on a file system the compute nodes share)")
    p.add_argument("--workers", "-w", type=int, required=True, help="workers (array tasks) to submit")
    p.add_argument("--backend", "-b", default="slurm", help="scheduler: slurm (default) or sge (Grid Engine)")
    p.add_argument("--time", help="time limit per worker, e.g. 2:00:00, 90 (minutes), 1-12 (default: config, else the queue's)")
    p.add_argument("--mem-gb", type=float, help="memory per worker in GB")
    p.add_argument("--cpus-per-worker", type=int, help="CPUs per worker (default 1)")
    p.add_argument("--setup", action="append", help="shell line run before the worker (repeatable)")
    p.add_argument("--max-parallel", type=int, help="at most this many workers at once")
    p.add_argument("--warning-s", type=int, help="seconds before the limit after which a worker starts no job")
    slurm = p.add_argument_group("SLURM (--backend slurm)")
    slurm.add_argument("--partition", help="SLURM partition")
    slurm.add_argument("--account", help="SLURM account")
    slurm.add_argument("--qos", help="SLURM quality of service")
    slurm.add_argument("--gres", help="generic resources, e.g. gpu:1")
    slurm.add_argument("--sbatch-arg", action="append", dest="sbatch_args", metavar="ARG",
                       help="another sbatch option, e.g. --sbatch-arg=--constraint=cascade (repeatable)")
    sge = p.add_argument_group("Grid Engine (--backend sge)")
    sge.add_argument("--queue", help="Grid Engine queue (-q)")
    sge.add_argument("--project", help="Grid Engine project (-P)")
    sge.add_argument("--pe", help="parallel environment, needed for --cpus-per-worker > 1")
    sge.add_argument("--mem-resource", help="resource that carries --mem-gb (default mem_free; h_vmem at many sites)")
    sge.add_argument("--qsub-arg", action="append", dest="qsub_args", metavar="WORD",
                     help="another qsub word, e.g. --qsub-arg=-l --qsub-arg=arch=lx-amd64 (repeatable)")
    p.add_argument("--trust-owner", action="store_true",
                   help="accept a project owned by another user (its workers run code as you)")
    p.add_argument("--dry-run", action="store_true", help="print the script and the options' sources; submit nothing")


def run(args: argparse.Namespace) -> int:
    from ..api import Project
    from ..store._layout import read_project_json
    from ..worker._code_path import check_runner_findable

    # the workers would fail one by one on the cluster; say it once, here
    check_runner_findable(read_project_json(Path(args.dir).absolute()))
    options = {key: getattr(args, key) for key in (*_COMMON, *_SLURM, *_SGE) if getattr(args, key) is not None}
    sub = Project.open(args.dir).submit(args.workers, backend=args.backend, dry_run=args.dry_run, **options)
    if args.dry_run:
        for k, text in enumerate(sub.scripts):
            print(f"# ---- array {k + 1} of {len(sub.scripts)} ----")
            print(text, end="")
        print("# ---- options ----", file=sys.stderr)
        print(sub.settings.describe(), file=sys.stderr)
        print("dry run: nothing submitted", file=sys.stderr)
        return 0
    for job_id, path in zip(sub.job_ids, sub.script_paths):
        print(f"submitted job array {job_id} ({path})")
    print(f"{sub.n_workers} worker(s); follow with: benchgrid status {args.dir}")
    return 0
