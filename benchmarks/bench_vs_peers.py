"""benchgrid end to end against what a laptop user would pick instead (joblib, dask, ...).

Usage::

    python benchmarks/bench_vs_peers.py                  # 3k and 30k ML jobs, 100k no-op jobs, 3 repeats
    python benchmarks/bench_vs_peers.py --quick          # 3k ML jobs and 100k no-op jobs, 1 repeat
    python benchmarks/bench_vs_peers.py --workloads ml3k --contenders joblib benchgrid --repeats 5
    git archive HEAD~3 src | tar -x -C /tmp/before    # and the same with an older benchgrid beside:
    python benchmarks/bench_vs_peers.py --before /tmp/before/src

Workloads:

- ``ml3k`` / ``ml30k``: the seed's simulated tasks scaled to 84 (840) tasks of
  150 rows, featureless + decision tree, SOAK with 3 folds (18 splits per
  task), rmse and mae: 3,024 (30,240) tiny ML jobs.
- ``noop100k``: 100,000 jobs that do nothing.

Contenders (2 workers each where there are workers):

- ``benchgrid``: ``Project.create`` + ``run(n_workers=2)`` + ``results()``;
- ``joblib``: ``Parallel(n_jobs=2)`` over the same splits (loky workers);
- ``loop``: a plain loop in one process;
- ``cross_validate``: ``cross_validate(n_jobs=2)`` per (task, learner) (ML only);
- ``loop-arrays`` / ``joblib-arrays``: the loop and joblib given ``X.to_numpy()``
  instead of the DataFrame (ML only). benchgrid hands known estimators the
  float array itself (``benchgrid.ml._native``); these show what the same
  change is worth to a user who makes it by hand.
- ``dask``: ``LocalCluster(n_workers=2, threads_per_worker=1)`` + ``client.map``
  (skipped with "not installed" if dask.distributed is missing).

Each trial runs in a fresh Python process (so nobody profits from another's warm
imports or caches); the clock starts after the trial has imported pandas,
scikit-learn and benchgrid and built the tasks in memory, and stops when it holds
a DataFrame of every job's scores. Everything between (splitting, creating a
project, starting workers or a cluster, importing in those workers, gathering)
counts. Trials are interleaved (every contender once, then again, ...) and the
median is reported, with the load average before each round. For benchgrid the
phases are printed too: create, run (from the call until ``run`` returns), the
workers' start-up (run call to first claim), first claim to last result, the
wait after the last result, and ``results()``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ML_CONTENDERS = ("benchgrid", "joblib", "loop", "cross_validate", "dask", "loop-arrays", "joblib-arrays")
NOOP_CONTENDERS = ("benchgrid", "joblib", "loop", "dask")
WORKLOADS = {"ml3k": 84, "ml30k": 840, "noop100k": 100_000}
N_ROWS = 150


# -- the work every contender does ----------------------------------------------------
def fit_score(learner: Any, X: Any, y: Any, train: Any, test: Any, seed: int) -> tuple[float, float]:
    """Clone, seed, fit, predict, rmse and mae: what one benchgrid ML job does."""
    from sklearn.base import clone
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    est = clone(learner)
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    rows = X.iloc if hasattr(X, "iloc") else X
    est.fit(rows[train], y[train])
    pred = est.predict(rows[test])
    return float(root_mean_squared_error(y[test], pred)), float(mean_absolute_error(y[test], pred))


def noop(i: int) -> None:
    return None


def ml_grid(n_tasks: int) -> dict[str, Any]:
    """The seed's tasks (alternating easy / impossible, each with its own data), 2 learners, SOAK(3)."""
    from bench_ml_overhead import scaled_grid

    return scaled_grid(n_tasks, N_ROWS)


def split_jobs(
    grid: dict[str, Any], arrays: bool = False
) -> list[tuple[dict[str, Any], Any, Any, Any, Any, Any, int]]:
    """Every (task, learner, split) as (description, learner, X, y, train, test, seed), splitting as a user would.

    ``arrays``: X as ``X.to_numpy()`` (the rows are then taken with ``X[rows]``).
    """
    from benchgrid.ml._splits import compute_splits

    jobs = []
    for tid, task in grid["tasks"].items():
        splits = compute_splits(grid["cv"], task, tid)
        X, y = (task.X.to_numpy() if arrays else task.X), task.y
        for lid, learner in grid["learners"].items():
            for i, meta in enumerate(splits.meta):
                train, test = splits.get(i)
                jobs.append(({"task_id": tid, "learner_id": lid, **meta}, learner, X, y, train, test, i))
    return jobs


def frame(descriptions: list[dict[str, Any]], scores: list[tuple[float, float]]) -> Any:
    import pandas as pd

    out = pd.DataFrame(descriptions)
    out["rmse"] = [s[0] for s in scores]
    out["mae"] = [s[1] for s in scores]
    return out


# -- one trial, in its own process ----------------------------------------------------
def trial_ml(contender: str, n_tasks: int, folder: Path) -> dict[str, Any]:
    grid = ml_grid(n_tasks)
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    if contender == "benchgrid":
        import benchgrid as bg

        proj = bg.Project.create(folder / "proj", grid.pop("tasks"), grid.pop("learners"), grid.pop("cv"), **grid)
        t1 = time.perf_counter()
        t_run = time.time()
        proj.run(n_workers=2, progress=False)
        t2 = time.perf_counter()
        t_ret = time.time()
        df = proj.results()
        t3 = time.perf_counter()
        phases = {"create_s": t1 - t0, "run_s": t2 - t1, "results_s": t3 - t2, **_spans(df, t_run, t_ret)}
        assert (df["state"] == "done").all(), df["state"].value_counts()
    elif contender in ("loop", "loop-arrays"):
        jobs = split_jobs(grid, arrays=contender.endswith("arrays"))
        df = frame([j[0] for j in jobs], [fit_score(*j[1:]) for j in jobs])
    elif contender in ("joblib", "joblib-arrays"):
        from joblib import Parallel, delayed

        jobs = split_jobs(grid, arrays=contender.endswith("arrays"))
        scores = Parallel(n_jobs=2)(delayed(fit_score)(*j[1:]) for j in jobs)
        df = frame([j[0] for j in jobs], scores)
    elif contender == "cross_validate":
        import pandas as pd
        from sklearn.model_selection import cross_validate

        from benchgrid.ml._splits import compute_splits

        parts = []
        for tid, task in grid["tasks"].items():
            splits = compute_splits(grid["cv"], task, tid)
            cv = [splits.get(i) for i in range(len(splits))]
            for lid, learner in grid["learners"].items():
                res = cross_validate(learner, task.X, task.y, cv=cv, n_jobs=2,
                                     scoring=("neg_root_mean_squared_error", "neg_mean_absolute_error"))  # fmt: skip
                part = pd.DataFrame(splits.meta)
                part.insert(0, "learner_id", lid)
                part.insert(0, "task_id", tid)
                part["rmse"] = -res["test_neg_root_mean_squared_error"]
                part["mae"] = -res["test_neg_mean_absolute_error"]
                parts.append(part)
        df = pd.concat(parts, ignore_index=True)
    elif contender == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                jobs = split_jobs(grid)
                futures = client.map(fit_score, *zip(*(j[1:] for j in jobs)), pure=False)
                scores = client.gather(futures)
        df = frame([j[0] for j in jobs], scores)
    else:
        raise ValueError(contender)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "n_rows": len(df), **phases}


def trial_noop(contender: str, n_jobs: int, folder: Path) -> dict[str, Any]:
    import pandas as pd

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    if contender == "benchgrid":
        import benchgrid as bg

        proj = bg.Project.create(folder / "proj", [{"i": i} for i in range(n_jobs)], "benchgrid.worker._noop:noop")
        t1 = time.perf_counter()
        t_run = time.time()
        proj.run(n_workers=2, progress=False)
        t2 = time.perf_counter()
        t_ret = time.time()
        df = proj.results()
        t3 = time.perf_counter()
        phases = {"create_s": t1 - t0, "run_s": t2 - t1, "results_s": t3 - t2, **_spans(df, t_run, t_ret)}
        assert (df["state"] == "done").all()
    elif contender == "loop":
        df = pd.DataFrame({"i": range(n_jobs), "r": [noop(i) for i in range(n_jobs)]})
    elif contender == "joblib":
        from joblib import Parallel, delayed

        out = Parallel(n_jobs=2)(delayed(noop)(i) for i in range(n_jobs))
        df = pd.DataFrame({"i": range(n_jobs), "r": out})
    elif contender == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                out = client.gather(client.map(noop, range(n_jobs), pure=False))
        df = pd.DataFrame({"i": range(n_jobs), "r": out})
    else:
        raise ValueError(contender)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "n_rows": len(df), **phases}


def _cpu_after(contender: str, wall_s: float) -> float:
    """CPU seconds of the trial and every process it started (after the clock stopped).

    Helper processes are ended and reaped first so that their CPU time (and
    their children's) is counted: the fork server (whose children are the
    workers) and joblib's reusable loky executor; dask's cluster is closed by
    its context manager. On a shared machine this is the figure load does not
    inflate much; wall time is what a user waits.
    """
    import resource

    if contender == "benchgrid":
        try:
            from benchgrid.backends.local import _forkserver

            _forkserver._close_all()
        except (ImportError, AttributeError):
            pass  # an older benchgrid without a fork server: its workers were children, already reaped
    elif contender in ("joblib", "joblib-arrays", "cross_validate"):
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return total - _CPU_AT_START


_CPU_AT_START = 0.0


def _epoch(value: Any) -> float:
    """Epoch seconds of a results time (a UTC datetime since results() gives datetimes; a float before)."""
    return float(value.timestamp()) if hasattr(value, "timestamp") else float(value)


def _spans(df: Any, t_run: float, t_return: float) -> dict[str, float]:
    """Where benchgrid's run went, from the records: start-up, claims to results, the wait after."""
    first, last = _epoch(df["claimed_at"].min()), _epoch(df["ended_at"].max())
    return {"startup_s": first - t_run, "work_s": last - first, "after_last_s": t_return - last}


def run_trial(contender: str, workload: str, folder: Path, before: str | None = None) -> dict[str, Any]:
    """One trial in a fresh interpreter; its figures, or {'error': ...}.

    ``benchgrid-before`` is benchgrid's trial with another checkout's ``src``
    (``--before``) first on PYTHONPATH, for its workers too.
    """
    env = dict(os.environ)
    if contender == "benchgrid-before":
        contender = "benchgrid"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [before, env.get("PYTHONPATH")]))
    cmd = [sys.executable, __file__, "--trial", contender, workload, str(folder)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    shutil.rmtree(folder, ignore_errors=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), default=None)
    ap.add_argument("--contenders", nargs="+", choices=ML_CONTENDERS, default=list(ML_CONTENDERS))
    ap.add_argument("--repeats", type=int, default=None, help="interleaved trials per contender (median); default 3")
    ap.add_argument("--quick", action="store_true", help="3k ML and 100k no-op jobs, 1 trial each")
    ap.add_argument("--before", metavar="SRC", help="also run benchgrid from this src/ folder (e.g. a git archive "
                    "of the previous commit) as contender 'benchgrid-before'")
    ap.add_argument("--trial", nargs=3, metavar=("CONTENDER", "WORKLOAD", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.trial:
        contender, workload, folder = args.trial
        # imports before the clock, as for a user in a notebook
        import pandas  # noqa: F401
        import sklearn.tree  # noqa: F401

        import benchgrid  # noqa: F401

        global _CPU_AT_START
        import resource

        me = resource.getrusage(resource.RUSAGE_SELF)
        _CPU_AT_START = me.ru_utime + me.ru_stime  # the imports and data before the clock do not count
        Path(folder).mkdir(parents=True, exist_ok=True)
        fn = trial_noop if workload.startswith("noop") else trial_ml
        out = fn(contender, WORKLOADS[workload], Path(folder))
        out["cpu_s"] = _cpu_after(contender, out["wall_s"])
        print(json.dumps(out))
        return

    workloads = args.workloads or (["ml3k", "noop100k"] if args.quick else ["ml3k", "ml30k", "noop100k"])
    repeats = args.repeats or (1 if args.quick else 3)
    dask = _have_dask()
    if not dask and "dask" in args.contenders:
        print("dask: not installed (pip install dask distributed); skipped")
    tmp = Path(tempfile.mkdtemp(prefix="bench_peers_"))
    print(f"{os.cpu_count()} CPUs; median of {repeats} interleaved trial(s), each in a fresh process")
    try:
        for workload in workloads:
            allowed = NOOP_CONTENDERS if workload.startswith("noop") else ML_CONTENDERS
            contenders = [c for c in args.contenders if c in allowed and (c != "dask" or dask)]
            if args.quick and workload.startswith("noop") and "dask" in contenders:
                contenders.remove("dask")  # 100,000 tiny tasks take dask minutes
                print("dask: left out of noop100k in --quick mode (minutes for 100,000 tiny tasks)")
            if args.before:
                contenders.insert(1, "benchgrid-before")
            results: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
            for r in range(repeats):
                load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"[{workload}] round {r + 1}/{repeats}, load average {load}", flush=True)
                for c in contenders:
                    res = run_trial(c, workload, tmp / f"{workload}-{c}-{r}", args.before)
                    results[c].append(res)
                    print(f"    {c:<15} " + ("ERROR " + res["error"] if "error" in res else
                          " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in res.items())),
                          flush=True)  # fmt: skip
            ok = {c: [x for x in v if "error" not in x] for c, v in results.items()}
            medians = {c: statistics.median(x["wall_s"] for x in v) for c, v in ok.items() if v}
            ref = medians.get("benchgrid")
            n_rows = next((x["n_rows"] for v in ok.values() for x in v), 0)
            print(f"\n{workload}: {n_rows:,} jobs, wall seconds from the call to a DataFrame of all scores")
            print("| contender | wall s (median) | min–max | wall vs benchgrid | CPU s (median, all processes) |")
            print("|---|---:|---:|---:|---:|")
            for c in sorted(medians, key=medians.get):  # type: ignore[arg-type]
                walls = [x["wall_s"] for x in ok[c]]
                ratio = f"{medians[c] / ref:.2f}×" if ref else "–"
                cpus = [x["cpu_s"] for x in ok[c] if "cpu_s" in x]
                cpu = f"{statistics.median(cpus):.2f}" if cpus else "–"
                print(f"| {c} | {medians[c]:.2f} | {min(walls):.2f}–{max(walls):.2f} | {ratio} | {cpu} |")
            if ok.get("benchgrid"):
                keys = [k for k in ok["benchgrid"][0] if k.endswith("_s") and k not in ("wall_s", "cpu_s")]
                parts = ", ".join(f"{k[:-2]} {statistics.median(x[k] for x in ok['benchgrid']):.2f} s" for k in keys)
                print(f"benchgrid phases (median): {parts}")
            print(flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
