"""The runner of the sweep: one call per job, with the job's parameters as keyword arguments.

Copy this file, rename the function and put your own experiment in it. A
runner returns a dict of numbers (one column each in ``proj.results()``) or
None. It must be importable by name ("experiments:simulate") from the folder
you create the project from; benchgrid records that folder, so workers
started anywhere (``benchgrid run``, SLURM) find it.
"""

from __future__ import annotations

import numpy as np


def simulate(n: int, seed: int) -> dict[str, float]:
    """Estimate pi from ``n`` random points in the unit square.

    Examples
    --------
    >>> round(simulate(100_000, seed=0)["pi_hat"], 1)
    3.1
    """
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    pi_hat = 4.0 * float(np.mean((xy**2).sum(axis=1) <= 1.0))
    return {"pi_hat": pi_hat, "abs_error": abs(pi_hat - np.pi)}
