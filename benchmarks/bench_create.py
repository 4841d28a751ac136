"""What creating an ML project costs per task, per split and per row.

Usage::

    python benchmarks/bench_create.py                 # three shapes of about 126,000 rows, median of 3
    python benchmarks/bench_create.py --repeats 5

The same data (the seed's simulated tasks, about 126,000 rows in all, SOAK with
3 folds, featureless + tree) cut three ways: 840 tasks of 150 rows (the 30k grid
of ``bench_vs_peers.py``), 84 tasks of 1,500 rows and 8 tasks of 15,000 rows.
For each it times ``Project.create`` (checks, splits, job rows, every file) and,
separately, computing the splits alone (what every contender of
``bench_vs_peers.py`` pays too, since each splits the same way). The rest,
``create - splits``, is what benchgrid adds: task keys, the job table, the
Parquet, JSON and npz files. Printed per task and per 1,000 rows, so a cost
that follows the number of tasks and one that follows the data tell apart.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_ml_overhead import scaled_grid as grid_of  # noqa: E402  (the same tasks as the other benchmarks)

SHAPES = [(840, 150), (84, 1500), (8, 15750)]


def one(n_tasks: int, n_rows: int, folder: Path) -> tuple[float, float, int]:
    """(create s, splits-only s, jobs) for fresh tasks (their keys and X are not cached yet)."""
    import benchgrid as bg
    from benchgrid.ml._grid import check_resamplings, compute_all_splits

    grid = grid_of(n_tasks, n_rows)
    t0 = time.perf_counter()
    compute_all_splits(check_resamplings(grid["cv"]), grid["tasks"])
    splits_s = time.perf_counter() - t0
    grid = grid_of(n_tasks, n_rows)
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    proj = bg.Project.create(folder, grid.pop("tasks"), grid.pop("learners"), grid.pop("cv"), **grid)
    create_s = time.perf_counter() - t0
    n_jobs = len(proj.jobs())
    shutil.rmtree(folder, ignore_errors=True)
    return create_s, splits_s, n_jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_create_"))
    rows = {shape: [] for shape in SHAPES}
    try:
        for _ in range(args.repeats):
            for shape in SHAPES:  # interleaved
                rows[shape].append(one(*shape, tmp / "p"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"median of {args.repeats}, interleaved; one process")
    print("| tasks × rows | jobs | create s | splits alone s | create − splits s | "
          "create − splits per task | per 1,000 rows |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (n_tasks, n_rows), runs in rows.items():
        create = statistics.median(x[0] for x in runs)
        splits = statistics.median(x[1] for x in runs)
        rest = create - splits
        print(f"| {n_tasks} × {n_rows:,} | {runs[0][2]:,} | {create:.2f} | {splits:.2f} | {rest:.2f} | "
              f"{rest / n_tasks * 1e3:.2f} ms | {rest / (n_tasks * n_rows) * 1e6:.2f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
