"""The runner the SLURM example submits: a bootstrap confidence interval of a median.

Each job is independent and takes a fraction of a second to a few seconds,
the shape of work benchgrid load-balances over a few long-lived workers.
"""

from __future__ import annotations

import numpy as np


def bootstrap_median(n: int, n_boot: int, seed: int) -> dict[str, float]:
    """Width of the 95 % bootstrap interval of the median of ``n`` exponential draws.

    Examples
    --------
    >>> bootstrap_median(50, 200, seed=0)["width"] > 0
    True
    """
    rng = np.random.default_rng(seed)
    x = rng.exponential(size=n)
    medians = np.median(rng.choice(x, size=(n_boot, n)), axis=1)
    lo, hi = np.quantile(medians, [0.025, 0.975])
    return {"median": float(np.median(x)), "width": float(hi - lo)}
