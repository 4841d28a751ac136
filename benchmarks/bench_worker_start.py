"""How long a local worker takes to start: forked from the preloaded server vs a fresh interpreter.

Usage::

    python benchmarks/bench_worker_start.py            # 5 runs of each, interleaved

Each run creates a small ML project (the seed's grid) and calls
``run(n_workers=2)``; the start-up is the time from that call to the first
claim in the records (so it includes the worker's imports and its first
claim, as a user waits for it). "fork, first" is the first run in a fresh
process with the server prestarted by ``Project.create`` (its imports overlap
with creating the project); "fork, later" are the runs after it in the same
process; "fresh process" sets ``BENCHGRID_FORKSERVER=0`` (what every run did
before the fork server). Each mode runs in its own fresh Python process,
interleaved; medians; the load average is printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_process(n_runs: int) -> list[float]:
    import benchgrid as bg
    from benchgrid.ml._demo import demo_grid

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(n_runs):
            grid = demo_grid()
            proj = bg.Project.create(Path(tmp) / f"p{r}", grid.pop("tasks"), grid.pop("learners"), grid.pop("cv"),
                                     **grid)  # fmt: skip
            t = time.time()
            proj.run(n_workers=2, progress=False)
            first = proj.results()["claimed_at"].min()  # a Timestamp (UTC)
            out.append(float(first.timestamp() if hasattr(first, "timestamp") else first) - t)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(one_process(int(sys.argv[2]))))
        return
    repeats = 5
    fork_first, fork_later, fresh = [], [], []
    for r in range(repeats):
        print(f"round {r + 1}/{repeats}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        env = dict(os.environ)
        out = subprocess.run([sys.executable, __file__, "--child", "3"], capture_output=True, text=True, env=env)
        runs = json.loads(out.stdout.strip().splitlines()[-1])
        fork_first.append(runs[0])
        fork_later.extend(runs[1:])
        env["BENCHGRID_FORKSERVER"] = "0"
        out = subprocess.run([sys.executable, __file__, "--child", "1"], capture_output=True, text=True, env=env)
        fresh.extend(json.loads(out.stdout.strip().splitlines()[-1]))
    for name, xs in (("fork, first run", fork_first), ("fork, later runs", fork_later), ("fresh process", fresh)):
        print(f"{name:<18} run() to first claim: median {statistics.median(xs):.3f} s "
              f"(min {min(xs):.3f}, max {max(xs):.3f}, n={len(xs)})")  # fmt: skip


if __name__ == "__main__":
    main()
