"""A parameter sweep: estimate pi by Monte Carlo for several sample sizes and seeds.

    cd examples/sweep
    python run_sweep.py                  # 4 sizes x 5 seeds = 20 jobs on 4 local workers
    python run_sweep.py --small          # 2 x 2 jobs (what the tests run; or BENCHGRID_EXAMPLE_SMALL=1)

Running it again continues the same project (jobs already done are kept);
give another --dir for a fresh one. The same from the command line:

    benchgrid init sweep --jobs jobs.csv --runner experiments:simulate
    benchgrid run sweep --workers 4
    benchgrid results sweep -o results.csv
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import benchgrid as bg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="sweep", help="project directory (default: ./sweep)")
    parser.add_argument("--workers", type=int, default=4, help="local worker processes")
    parser.add_argument("--small", action="store_true", default=os.environ.get("BENCHGRID_EXAMPLE_SMALL") == "1",
                        help="a tiny grid (also: BENCHGRID_EXAMPLE_SMALL=1)")
    args = parser.parse_args()

    sizes = [100, 10_000] if args.small else [100, 1_000, 10_000, 100_000]
    seeds = range(2 if args.small else 5)
    jobs = [{"n": n, "seed": s} for n in sizes for s in seeds]  # one job per dict

    if (Path(args.dir) / "project.json").exists():
        proj = bg.Project.open(args.dir)
        proj.add_jobs(jobs)  # only the new ones are added
    else:
        proj = bg.Project.create(args.dir, jobs, "experiments:simulate")
    proj.run(n_workers=args.workers)
    print(proj.status())  # what `benchgrid status` prints

    df = proj.results()  # one row per job: n, seed, pi_hat, abs_error, worker, times
    print(df.groupby("n")["abs_error"].agg(["mean", "count"]).to_string())


if __name__ == "__main__":
    main()
