"""Overhead of benchgrid on real small ML jobs, and the 2-worker speed-up.

Usage::

    python benchmarks/bench_ml_overhead.py                   # ~3,000 and ~30,000 jobs
    python benchmarks/bench_ml_overhead.py --jobs 3000       # one size
    python benchmarks/bench_ml_overhead.py --speedup-only

Overhead: the demo's grid scaled up (many tasks like "easy" and
"impossible", each with its own simulated data, × featureless and rpart ×
18 SOAK iterations). The same jobs run (a) in a bare Python loop that does
clone / seed / fit / predict / rmse / mae over the very splits benchgrid
stored (inputs preloaded), and (b) by benchgrid's worker loop (claim, load
inputs from the project, run, record results) run in this process
(``proj.run(n_workers=0)``, the same code a worker process runs). Printed:
CPU and wall times of both, their ratio, and benchgrid's extra CPU per job.
CPU time is the headline because the machine may be shared; wall time is
printed too.

Speed-up: CPU-bound jobs (random forests on 2,000 rows), 1 worker vs 2
workers, wall time of ``proj.run``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import statistics
import time
from pathlib import Path

import numpy as np


def scaled_grid(n_tasks: int, n_rows: int = 80):
    """``n_tasks`` tasks like the demo's (alternating easy / impossible), 2 learners, SOAK(3)."""
    import benchgrid as bg
    from benchgrid.ml._demo import demo_data, demo_grid

    grid = demo_grid()
    tasks = {}
    for i in range(n_tasks):
        kind = ("easy", "impossible")[i % 2]
        df = demo_data(n_rows, random_state=i)
        tasks[f"{kind}{i}"] = bg.Task(df[["x", "person", kind]], target=kind, features=["x"],
                                      subset="person", stratum="person")  # fmt: skip
    grid["tasks"] = tasks
    return grid


def bare_loop(proj) -> tuple[float, float]:
    """The same jobs, in a plain loop over the stored splits; (wall s, CPU s)."""
    from sklearn.base import clone
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    from benchgrid.ml import _runner
    from benchgrid.ml._learners import set_random_state
    from benchgrid.store.storage._jobs import job_seed

    jobs = proj.jobs().to_dict(orient="records")
    root = proj.path
    # load everything first: the loop times only fit / predict / score
    inputs = [(
        _runner._task(root, j["task_id"], j["task_key"]),
        _runner._splits(root, j["task_id"], j["task_key"]).get(j["iteration"] - 1),
        _runner._learner(root, j["learner_id"], j["learner_key"]),
        job_seed(0, j["key"]),
    ) for j in jobs]  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    for task, (train, test), learner, seed in inputs:
        est = clone(learner)
        set_random_state(est, seed)
        X, y = task.X, task.y
        est.fit(X.iloc[train], y[train])
        pred = est.predict(X.iloc[test])
        root_mean_squared_error(y[test], pred)
        mean_absolute_error(y[test], pred)
    return time.perf_counter() - t0, time.process_time() - c0


def worker_span(proj) -> float:
    """First claim to last result, from the results table (excludes process start-up)."""
    r = proj.results()
    return float((r["ended_at"].max() - r["claimed_at"].min()).total_seconds())  # UTC datetimes


def overhead(n_jobs_wanted: int, tmp: Path, repeats: int) -> None:
    import benchgrid as bg
    from benchgrid.ml import _runner

    n_tasks = max(1, round(n_jobs_wanted / 36))
    # one fresh project per benchgrid run (a project runs once); identical content
    projects = []
    for r in range(repeats):
        grid = scaled_grid(n_tasks)
        t0 = time.perf_counter()
        projects.append(bg.Project.create(tmp / f"p{n_jobs_wanted}-{r}", grid.pop("tasks"), grid.pop("learners"),
                                          grid.pop("cv"), **grid))  # fmt: skip
        create_s = time.perf_counter() - t0
    n_jobs = len(projects[0].jobs())
    # Side by side, interleaved (bare, benchgrid, bare, benchgrid, ...) so that neither
    # side alone pays the first calls into scikit-learn; medians. benchgrid runs its
    # worker loop in this process (n_workers=0): the same claim / run / record code as a
    # worker process, so its CPU time can be read here; its input loads (task data,
    # splits, learners from the project) count, the bare loop's happen before its clock.
    bare, ours = [], []
    for proj in projects:
        _runner.clear_caches()
        bare.append(bare_loop(proj))
        _runner.clear_caches()
        t0, c0 = time.perf_counter(), time.process_time()
        status = proj.run(n_workers=0, progress=False)
        ours.append((time.perf_counter() - t0, time.process_time() - c0))
        assert status.counts["done"] == n_jobs, status.counts
    bare_wall, bare_cpu = (statistics.median(b[i] for b in bare) for i in (0, 1))
    bg_wall, bg_cpu = (statistics.median(b[i] for b in ours) for i in (0, 1))
    print(
        f"{n_jobs:>6} jobs ({n_tasks} tasks x 2 learners x 18 SOAK iterations), create {create_s:.1f} s\n"
        f"        bare loop:           {bare_cpu:7.1f} s CPU ({1e3 * bare_cpu / n_jobs:.2f} ms/job), "
        f"{bare_wall:.1f} s wall (median of {repeats})\n"
        f"        benchgrid worker:    {bg_cpu:7.1f} s CPU ({1e3 * bg_cpu / n_jobs:.2f} ms/job), "
        f"{bg_wall:.1f} s wall (median of {repeats})\n"
        f"        ratio:               {bg_wall / bare_wall:.2f}x wall, {bg_cpu / bare_cpu:.2f}x CPU, "
        f"{1e3 * (bg_cpu - bare_cpu) / n_jobs:.2f} ms CPU per job extra",
        flush=True,
    )


def speedup(tmp: Path) -> None:
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold

    import benchgrid as bg

    rng = np.random.default_rng(0)
    n = 2000
    X = rng.normal(size=(n, 5))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)])
    df["y"] = X[:, 0] ** 2 + rng.normal(size=n)
    tasks = {f"t{i}": bg.Task(df.sample(frac=1, random_state=i).reset_index(drop=True),
                              target="y") for i in range(4)}  # fmt: skip
    # ~1 s per job, so that the ~2.5 s each worker spends importing scikit-learn is amortised
    learners = {"forest": RandomForestRegressor(n_estimators=100, n_jobs=1)}
    times, spans = {}, {}
    for w in (1, 2):
        proj = bg.Project.create(tmp / f"speed{w}", tasks, learners, KFold(10), measures=["rmse"])
        t0 = time.perf_counter()
        proj.run(n_workers=w, progress=False)
        times[w] = time.perf_counter() - t0
        spans[w] = worker_span(proj)
        print(f"  {len(proj.jobs())} CPU-bound jobs, {w} worker(s): {times[w]:.1f} s wall "
              f"({spans[w]:.1f} s claim-to-last-result)", flush=True)  # fmt: skip
    print(f"speed-up 2 workers vs 1: {times[1] / times[2]:.2f}x wall (start-up included), "
          f"{spans[1] / spans[2]:.2f}x claim-to-last-result")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each side (median)")
    parser.add_argument("--speedup-only", action="store_true")
    parser.add_argument("--no-speedup", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_ml_"))
    try:
        if not args.speedup_only:
            for n in args.jobs:
                overhead(n, tmp, args.repeats)
        if not args.no_speedup:
            speedup(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
