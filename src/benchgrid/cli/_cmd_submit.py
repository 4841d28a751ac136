"""benchgrid submit DIR --workers W [SLURM options] [--dry-run]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "submit W workers as a SLURM job array"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory (on a file system the compute nodes share)")
    p.add_argument("--workers", "-w", type=int, required=True, help="workers (SLURM array tasks) to submit")
    p.add_argument("--time", help="time limit per worker, e.g. 2:00:00, 90, 1-12 (default: config, else the partition's)")
    p.add_argument("--mem-gb", type=float, help="memory per worker in GB")
    p.add_argument("--cpus-per-worker", type=int, help="CPUs per worker (default 1)")
    p.add_argument("--partition", help="SLURM partition")
    p.add_argument("--account", help="SLURM account")
    p.add_argument("--qos", help="SLURM quality of service")
    p.add_argument("--gres", help="generic resources, e.g. gpu:1")
    p.add_argument("--setup", action="append", help="shell line run before the worker (repeatable)")
    p.add_argument("--max-parallel", type=int, help="at most this many workers at once (%%P throttle)")
    p.add_argument("--sbatch-arg", action="append", dest="sbatch_args", metavar="ARG",
                   help="another sbatch option, e.g. --sbatch-arg=--constraint=cascade (repeatable)")
    p.add_argument("--warning-s", type=int, help="seconds before the limit at which SLURM signals the worker")
    p.add_argument("--dry-run", action="store_true", help="print the script and the options' sources; submit nothing")


def run(args: argparse.Namespace) -> int:
    from ..backends.slurm import submit
    from ..store._layout import read_project_json
    from ..worker._code_path import check_runner_findable

    # the workers would fail one by one on the cluster; say it once, here
    check_runner_findable(read_project_json(Path(args.dir).absolute()))
    sub = submit(
        args.dir, args.workers, dry_run=args.dry_run, time=args.time, mem_gb=args.mem_gb,
        cpus_per_worker=args.cpus_per_worker, partition=args.partition, account=args.account,
        qos=args.qos, gres=args.gres, setup=args.setup, max_parallel=args.max_parallel,
        sbatch_args=args.sbatch_args, warning_s=args.warning_s,
    )
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
