"""The seed example's data: two people, an easy task and an impossible one.

From mlr3resampling's SOAK vignette: x ~ Uniform(-2, 2); Alice is the first
half of the rows, Bob the second. "easy": y = x² + noise for both, so
training on the other person works as well as on the same one.
"impossible": y = -x² for Alice and +x² for Bob, so training on the other
person is worse than a featureless guess. Noise ~ Normal(0, sd=0.5).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._task import Task

__all__ = ["demo_data", "demo_grid"]


def demo_data(n_rows: int = 80, random_state: int = 1):
    """The simulated rows: columns x, person, easy, impossible.

    Examples
    --------
    >>> df = demo_data()
    >>> df.shape, df.person.value_counts().to_dict()
    ((80, 4), {'Alice': 40, 'Bob': 40})
    """
    import pandas as pd

    rng = np.random.default_rng(random_state)
    x = rng.uniform(-2, 2, n_rows)
    person = np.where(np.arange(n_rows) < n_rows // 2, "Alice", "Bob")
    sign = np.where(person == "Alice", -1.0, 1.0)
    return pd.DataFrame({
        "x": x,
        "person": person,
        "easy": x**2 + rng.normal(0, 0.5, n_rows),
        "impossible": sign * x**2 + rng.normal(0, 0.5, n_rows),
    })  # fmt: skip


def demo_grid(n_rows: int = 80, random_state: int = 1) -> dict[str, Any]:
    """Tasks, learners, cv and measures of ``benchgrid demo``.

    Examples
    --------
    >>> grid = demo_grid()
    >>> sorted(grid["tasks"]), sorted(grid["learners"]), grid["measures"]
    (['easy', 'impossible'], ['featureless', 'rpart'], ['rmse', 'mae'])
    """
    from sklearn.dummy import DummyRegressor
    from sklearn.tree import DecisionTreeRegressor

    from ._soak import SOAK

    df = demo_data(n_rows, random_state)
    tasks = {
        name: Task(df[["x", "person", name]], target=name, features=["x"],
                   subset="person", stratum="person")
        for name in ("easy", "impossible")
    }  # fmt: skip
    return {
        "tasks": tasks,
        # rpart's defaults: at least 20 rows to split a node, 7 in a leaf
        "learners": {
            "featureless": DummyRegressor(),
            "rpart": DecisionTreeRegressor(min_samples_split=20, min_samples_leaf=7),
        },
        "cv": SOAK(folds=3, random_state=random_state),
        "measures": ["rmse", "mae"],
    }
