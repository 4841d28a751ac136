"""One SLURM array task per ML job (the batchtools way) vs 2 benchgrid workers.

Usage::

    python benchmarks/bench_slurm_vs_array.py                  # 500 jobs, 3 repeats: ~1 h on 2 CPUs
    python benchmarks/bench_slurm_vs_array.py --jobs 100 --repeats 2   # ~10 min

Almost all the time goes to (a): each of its array tasks holds one of the
node's CPUs for about 4 s to run a job of a few milliseconds.

Needs a SLURM where ``sbatch`` and ``squeue`` work (``scripts/slurm-local
start`` gives a single-node one) and a project directory the nodes can see
(the temporary folder here, on one machine).

The jobs: the demo's grid scaled up (tasks like "easy" and "impossible", each
with its own simulated 80 rows, × featureless and rpart × 18 SOAK
iterations), cut to ``--jobs`` jobs, largest training set first. Each job
takes milliseconds. The same jobs run two ways, each in a fresh project:

(a) one array task per job, as batchtools / mlr3batchmark submit: an array
    of N tasks, each ``benchgrid work DIR --max-jobs 1``, i.e. a fresh Python
    process per job that imports, loads the inputs, runs one job and exits;
(b) benchgrid's way: ``benchgrid.backends.slurm.submit(proj, 2)``, an array of
    2 workers that pull jobs until none is left.

Both use the same generated batch script (only the array size and
``--max-jobs 1`` differ). Measured for each: wall time from the call that
submits until every job has a result (``proj.status()`` polled), and the
peak number of this run's array tasks SLURM holds pending or running
(``squeue -h -r`` polled). The two score tables must be identical (same job
keys, same per-job scores, bit for bit), and in (a) every job must have run
in its own array task. Repeats alternate which way goes first; medians are
reported. Projects live in a temporary folder, removed at the end; whatever
is still queued is cancelled on exit (also on Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# SLURM nodes must start this interpreter (the one benchgrid is installed in),
# not whatever `python` their PATH finds.
COMMAND = (sys.executable, "-m", "benchgrid")
MEASURES = ["rmse", "mae"]
LIVE = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}


def scaled_grid(n_jobs: int, n_rows: int = 80):
    """The demo's grid with enough tasks for ``n_jobs`` jobs (36 per task), and an order that keeps n_jobs."""
    import benchgrid as bg
    from benchgrid.ml._demo import demo_data, demo_grid

    grid = demo_grid()
    per_task = 2 * 18  # learners × SOAK(folds=3) iterations with two subsets
    tasks = {}
    for i in range(math.ceil(n_jobs / per_task)):
        kind = ("easy", "impossible")[i % 2]
        df = demo_data(n_rows, random_state=i)
        tasks[f"{kind}{i}"] = bg.Task(df[["x", "person", kind]], target=kind, features=["x"],
                                      subset="person", stratum="person")  # fmt: skip

    def largest_train_first(jobs):
        return jobs.sort_values("n_train", ascending=False, kind="stable").head(n_jobs)

    return tasks, grid["learners"], grid["cv"], largest_train_first


def squeue_live(job_ids: list[str]) -> tuple[int, int]:
    """(pending, running) array tasks of these array jobs, from ``squeue -h -r``."""
    out = subprocess.run(["squeue", "-h", "-r", "-j", ",".join(job_ids), "-o", "%T"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    if out.returncode != 0:  # e.g. the ids were purged already: nothing live
        return 0, 0
    states = [s.strip() for s in out.stdout.split()]
    pending = sum(s == "PENDING" for s in states)
    return pending, sum(s in LIVE for s in states) - pending


def run_way(proj, n_workers: int, worker_args: tuple[str, ...], n_jobs: int, poll_s: float,
            timeout_s: float, submitted: list) -> dict:  # fmt: skip
    """Submit, poll until every job has a result and the array has drained; the figures."""
    from benchgrid.backends.slurm import submit

    t0 = time.perf_counter()
    sub = submit(proj, n_workers, command=COMMAND, worker_args=worker_args, job_name=f"bench-{proj.path.name}")
    submit_s = time.perf_counter() - t0
    submitted.append(proj)
    peak = peak_pending = peak_running = 0
    done_s = None
    while True:
        pending, running = squeue_live(sub.job_ids)
        peak = max(peak, pending + running)
        peak_pending, peak_running = max(peak_pending, pending), max(peak_running, running)
        elapsed = time.perf_counter() - t0
        if done_s is None:
            counts = proj.status().counts
            if sum(counts.get(s, 0) for s in ("done", "error", "failed")) >= n_jobs:
                done_s = elapsed
        if done_s is not None and pending + running == 0:
            break
        if elapsed > timeout_s:
            raise RuntimeError(f"{proj.path.name}: not finished after {timeout_s:.0f} s (status {proj.status().counts})")
        time.sleep(poll_s)
    return {"wall_s": done_s, "drained_s": time.perf_counter() - t0, "submit_s": submit_s, "peak": peak,
            "peak_pending": peak_pending, "peak_running": peak_running, "job_ids": sub.job_ids}  # fmt: skip


def score_table(proj, n_jobs: int):
    """Job key and scores, sorted by key; every job done exactly once."""
    s = proj.scores().merge(proj.jobs()[["job_id", "key"]], on="job_id", validate="one_to_one")
    assert len(s) == n_jobs and (s["state"] == "done").all(), s["state"].value_counts().to_dict()
    assert s["key"].is_unique
    cols = ["key", "task_id", "learner_id", "iteration", "test.subset", "train.subsets", "seed", *MEASURES]
    return s[cols].sort_values("key").reset_index(drop=True)


def same_scores(a, b) -> bool:
    """Same jobs, same split metadata and seeds, scores equal bit for bit."""
    return a.shape == b.shape and a.equals(b)


def machine() -> str:
    version = subprocess.run(["sinfo", "-V"], capture_output=True, text=True, check=False).stdout.strip()
    cpus = subprocess.run(["sinfo", "-h", "-o", "%c"], capture_output=True, text=True, check=False).stdout.split()
    return f"{os.cpu_count()} cores, {version or 'slurm ?'}, node CPUs {','.join(cpus) or '?'}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=500, help="ML jobs (at most MaxArraySize, 1001 by default)")
    ap.add_argument("--workers", type=int, default=2, help="benchgrid workers in (b)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--poll-s", type=float, default=0.25, help="seconds between polls of squeue and status")
    ap.add_argument("--timeout-s", type=float, default=3600.0, help="give up on one run after this long")
    args = ap.parse_args()
    for name in ("jobs", "workers", "repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        print("sbatch/squeue not on PATH: start a local SLURM with scripts/slurm-local start", file=sys.stderr)
        return 2

    import benchgrid as bg
    from benchgrid.backends.slurm import cancel

    # SIGTERM runs the finally below too (cancel and clean up), like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    submitted: list = []
    tasks, learners, cv, order = scaled_grid(args.jobs)
    print(f"{args.jobs} ML jobs ({len(tasks)} demo-like tasks x 2 learners x 18 SOAK iterations, cut to "
          f"{args.jobs}); {machine()}; load average at start {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"(a) array of {args.jobs} tasks, one job each   (b) array of {args.workers} benchgrid workers; "
          f"(a) holds a CPU ~4 s per job: expect ~{args.repeats * args.jobs * 4 / 2 / 60:.0f} min "
          "on 2 CPUs")  # fmt: skip
    print(f"{'repeat':>6} {'(a) s':>8} {'(b) s':>7} {'(a)/(b)':>8} {'(a) queue':>10} {'(b) queue':>10} "
          f"{'(a) running':>12} {'(a) drained s':>14} {'load':>5}  scores")  # fmt: skip
    rows = []
    reference = None
    try:
        for r in range(args.repeats):
            ways = [("a", args.jobs, ("--max-jobs", "1")), ("b", args.workers, ())]
            if r % 2:
                ways.reverse()  # alternate the order, so a drift in load does not favour one way
            load = os.getloadavg()[0]
            out, tables = {}, {}
            for label, n_workers, worker_args in ways:
                proj = bg.Project.create(folder / f"{label}{r}", tasks, learners, cv, measures=MEASURES,
                                         order=order)  # fmt: skip
                out[label] = run_way(proj, n_workers, worker_args, args.jobs, args.poll_s, args.timeout_s, submitted)
                tables[label] = score_table(proj, args.jobs)
                # a job's recorded duration: in (a) it includes the runner's first imports and input loads
                out[label]["job_s"] = float(proj.results()["duration_s"].median())
                if label == "a":
                    # one array task per job: each result from a different worker
                    n_runners = proj.results()["worker"].nunique()
                    assert n_runners == args.jobs, f"(a): {n_runners} workers ran {args.jobs} jobs"
            reference = tables["a"] if reference is None else reference
            same = same_scores(tables["a"], tables["b"]) and same_scores(reference, tables["b"])
            a, b = out["a"], out["b"]
            rows.append({"a": a["wall_s"], "b": b["wall_s"], "ratio": a["wall_s"] / b["wall_s"],
                         "qa": a["peak"], "qb": b["peak"], "ra": a["peak_running"], "drain": a["drained_s"],
                         "job_a": a["job_s"], "job_b": b["job_s"],
                         "same": same})  # fmt: skip
            print(f"{r + 1:>6} {a['wall_s']:>8.1f} {b['wall_s']:>7.1f} {a['wall_s'] / b['wall_s']:>7.1f}x "
                  f"{a['peak']:>10} {b['peak']:>10} {a['peak_running']:>12} {a['drained_s']:>14.1f} {load:>5.2f}  "
                  f"{'identical' if same else 'DIFFER'}", flush=True)  # fmt: skip
            if not same:
                print("score tables differ between (a) and (b)", file=sys.stderr)
                return 1
            for label in out:
                shutil.rmtree(folder / f"{label}{r}", ignore_errors=True)
        med = {k: statistics.median(row[k] for row in rows) for k in rows[0] if k != "same"}
        print(f"{'median':>6} {med['a']:>8.1f} {med['b']:>7.1f} {med['ratio']:>7.1f}x {med['qa']:>10.0f} "
              f"{med['qb']:>10.0f} {med['ra']:>12.0f} {med['drain']:>14.1f}")  # fmt: skip
        slot_s = med["a"] * med["ra"] / args.jobs
        print(f"(a) holds a CPU slot {slot_s:.2f} s per job: the job itself {med['job_a']:.2f} s (median; "
              f"{1e3 * med['job_b']:.0f} ms in a warm (b) worker, the rest is the runner's first imports and "
              f"input loads), and {slot_s - med['job_a']:.2f} s around it (SLURM starting and ending the "
              "task, bash, squeue, the interpreter, importing benchgrid, the claim)")  # fmt: skip
        print(f"Goal: (a)/(b) >= 10x: {'met' if med['ratio'] >= 10 else 'NOT met'} ({med['ratio']:.1f}x); "
              f"SLURM queue held {med['qb']:.0f} jobs instead of {med['qa']:.0f}")  # fmt: skip
        return 0
    finally:
        for proj in submitted:
            try:
                cancel(proj)
            except Exception as err:  # keep cleaning up; say what is left
                print(f"could not cancel the jobs of {proj.path}: {err}", file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
