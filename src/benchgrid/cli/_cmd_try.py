"""benchgrid try DIR [--sample N]: one job per (task, learner), timed, extrapolated."""

from __future__ import annotations

import argparse

from .._errors import InputError
from ._common import fmt_seconds

HELP = "run one job per (task, learner) locally and extrapolate the grid's cost"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the project directory (an ML project)")
    p.add_argument("--sample", type=int, default=None,
                   help="train on this many rows of the largest training set (default: all)")
    p.add_argument("--trust-owner", action="store_true",
                   help="accept a project owned by another user (its workers run code as you)")
    p.add_argument("--workers", "-w", type=int, default=None,
                   help="also print the wall time the grid would take on this many workers")


def run(args: argparse.Namespace) -> int:
    from ..api import MLProject

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    proj = MLProject.open(args.dir)
    table = proj.try_jobs(sample=args.sample, trust_owner=args.trust_owner)
    cols = ["task_id", "learner_id", "n_train", "n_test", "fit_s", "predict_s", "peak_mem_mb",
            "est_mem_gb", "n_jobs", "est_cpu_s", "error"]  # fmt: skip
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    total = float(table["est_cpu_s"].sum())
    n_jobs = int(table["n_jobs"].sum())
    print(f"\n{n_jobs} jobs, estimated CPU time {fmt_seconds(total)} (h:mm:ss; a fixed fit "
          "time plus a time per training row, timed at two sizes of the largest training "
          "set of each pair)")
    if args.workers:
        print(f"on {args.workers} workers: about {fmt_seconds(total / args.workers)} of wall time")
    biggest = float(table["est_mem_gb"].max())
    if biggest == biggest:  # not NaN
        print(f"largest job: about {biggest:.3g} GB (peak memory at two sizes, x1.25); "
              "memory_gb=\"estimated\" at creation writes it per job (docs/memory.md)")
    n_err = int(table["error"].notna().sum())
    if n_err:
        print(f"{n_err} (task, learner) pair(s) failed: see the error column")
    return 1 if n_err else 0
