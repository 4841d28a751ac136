"""The last claims: a worker near the end must not take more than its share of what is left (issue 25).

Usage::

    python benchmarks/bench_last_claims.py                       # W = 16, 3,000 jobs of 20 ms, 3 repeats
    python benchmarks/bench_last_claims.py --before /tmp/oldmain/src   # the same with another checkout, side by side

For each checkout (this one, and ``--before``'s ``src`` if given), run after
run interleaved, W real ``benchgrid work`` processes drain a fresh project of
sleeping jobs on local disk. Printed per checkout, medians over the repeats:
"% ideal" = W·job_s·N / (W · (last end − first claim)), read from the records
(the makespan bound of docs/performance.md: ≥ 85% at W = 16); the largest
claim (jobs) among the claims made once fewer than W × 20 jobs were left
unclaimed; the longest idle wait of a worker at the end (first worker done
to last worker done); and the start stagger (the last worker's first claim
after the first claim: Python start-up on a loaded machine, which "% ideal"
counts as lost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_once(src: Path, n_jobs: int, job_s: float, n_workers: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "proj"
        make = ("import sys; from benchgrid import Project; "
                f"Project.create(sys.argv[1], [{{'i': i, 'seconds': {job_s}}} for i in range({n_jobs})], 'tests.runners.jobs:sleep')")
        subprocess.run([sys.executable, "-c", make, str(proj)], env=env, check=True, cwd=ROOT)
        procs = [subprocess.Popen([sys.executable, "-m", "benchgrid", "work", str(proj), "--name", f"w{i}"],
                                  env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=ROOT)
                 for i in range(n_workers)]
        for p in procs:
            p.wait()
        sys.path.insert(0, str(src))
        from benchgrid.store.storage._records import read_records

        claims, _ = read_records(proj / "queue" / "claims.log")
        claims = [c for c in claims if c.get("op") == "claim"]
        ends: dict[str, float] = {}
        first_claim = min(float(c["t"]) for c in claims)
        for d in (proj / "workers").iterdir():
            events, _ = read_records(d / "events.log")
            t1 = [float(e["t1"]) for e in events if "t1" in e]
            if t1:
                ends[d.name] = max(t1)
        last_end, first_done = max(ends.values()), min(ends.values())
        taken, late = 0, []
        for c in claims:
            if n_jobs - taken < n_workers * 20:
                late.append(len(c["c"]))
            taken += len(c["c"])
        firsts: dict[str, float] = {}
        for c in claims:
            firsts.setdefault(str(c["w"]), float(c["t"]))
        return {"ideal": n_jobs * job_s / (n_workers * (last_end - first_claim)), "late_max": max(late or [0]),
                "idle_end_s": last_end - first_done, "stagger_s": max(firsts.values()) - first_claim}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--jobs", type=int, default=3000)
    ap.add_argument("--job-s", type=float, default=0.02)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", type=Path, help="the src folder of another checkout, measured in the same run")
    args = ap.parse_args()
    srcs = {"this": ROOT / "src"} | ({"before": args.before} if args.before else {})
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in srcs}
    for _ in range(args.repeats):
        for name, src in srcs.items():
            rows[name].append(run_once(src, args.jobs, args.job_s, args.workers))
    print(f"W = {args.workers}, {args.jobs} jobs of {args.job_s * 1000:g} ms, median of {args.repeats}")
    print(f"{'checkout':8} | % ideal | largest late claim | idle at the end s | start stagger s")
    for name, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{name:8} | {med['ideal']:7.0%} | {med['late_max']:18.0f} | {med['idle_end_s']:17.2f}"
              f" | {med['stagger_s']:15.2f}")


if __name__ == "__main__":
    main()
