"""Submit a sweep to SLURM: W workers as one job array, all pulling from one job table.

Create the project on a file system the compute nodes share (/scratch,
/project), from the folder that holds experiments.py:

    cd examples/slurm
    python submit_sweep.py /scratch/$USER/boot --workers 20 --time 1:00:00 --mem-gb 2 --account def-lab
    python submit_sweep.py /scratch/$USER/boot --workers 20 --time 1:00:00 --dry-run   # print the script only
    benchgrid status /scratch/$USER/boot --watch

Put the cluster's settings (account, partition, `module load` lines) in
~/.config/benchgrid/config.toml once instead (docs/slurm.md).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import benchgrid as bg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="project directory on a shared file system")
    parser.add_argument("--workers", type=int, default=10, help="SLURM array tasks (workers)")
    parser.add_argument("--time", default="1:00:00", help="time limit per worker")
    parser.add_argument("--mem-gb", type=float, default=2.0)
    parser.add_argument("--account", help="SLURM account (else from the config file)")
    parser.add_argument("--dry-run", action="store_true", help="print the batch script, submit nothing")
    parser.add_argument("--small", action="store_true", default=os.environ.get("BENCHGRID_EXAMPLE_SMALL") == "1")
    args = parser.parse_args()

    sizes = [20, 200] if args.small else [20, 50, 200, 1000, 5000]
    jobs = [{"n": n, "n_boot": 2000, "seed": s} for n in sizes for s in range(2 if args.small else 20)]
    if (Path(args.dir) / "project.json").exists():
        proj = bg.Project.open(args.dir)
        proj.add_jobs(jobs)
    else:
        proj = bg.Project.create(args.dir, jobs, "experiments:bootstrap_median")

    sub = proj.submit(n_workers=args.workers, time=args.time, mem_gb=args.mem_gb, account=args.account,
                      dry_run=args.dry_run)
    if args.dry_run:
        print(sub.scripts[0], end="")
        print(f"# dry run: nothing submitted ({len(proj.jobs())} jobs in {proj.path})")
    else:
        print(f"submitted job array(s) {', '.join(map(str, sub.job_ids))}: {args.workers} workers")
        print(f"follow with: benchgrid status {proj.path} --watch")


if __name__ == "__main__":
    main()
