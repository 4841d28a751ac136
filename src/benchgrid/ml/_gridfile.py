"""Load a grid file (``benchgrid init DIR --grid grid.py``).

A grid file is plain Python that defines ``tasks``, ``learners``, ``cv``
and optionally ``measures``, ``order``, ``save_predictions``, ``strict``, ``memory_gb``, ``time_s``, ``resources``,
``save_models`` — or a function ``grid()`` that returns a dict of them::

    # grid.py
    import pandas as pd
    import benchgrid as bg
    from sklearn.dummy import DummyRegressor
    from sklearn.model_selection import KFold

    df = pd.read_csv("data.csv")
    tasks = {"mine": bg.Task(df, target="y")}
    learners = {"featureless": DummyRegressor()}
    cv = KFold(5, shuffle=True, random_state=0)
    measures = ["rmse", "mae"]

Learners and measures are stored in the project with cloudpickle: a class
or function defined in the grid file itself is stored by value, so workers
load it without the file; ones imported from a module are stored by
reference: a module next to the grid file or in the folder you run
``benchgrid init`` from is found by the workers (the project records those
folders), as is an installed package.
"""

from __future__ import annotations

import os
import runpy
import traceback
from pathlib import Path
from typing import Any, Sequence

from .._errors import InputError

__all__ = ["load_grid_file", "GRID_NAMES"]

GRID_NAMES = ("tasks", "learners", "cv", "measures", "order", "save_predictions", "save_models",
              "strict", "memory_gb", "time_s", "resources")


def load_grid_file(
    path: str | os.PathLike[str], require: Sequence[str] = ("tasks", "learners", "cv")
) -> dict[str, Any]:
    """Run the grid file and return the names it defines among :data:`GRID_NAMES`.

    Parameters
    ----------
    path : path-like
        The ``.py`` file.
    require : sequence of str
        Names that must be defined (``cv = None`` counts as defined).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "grid.py"
    >>> _ = f.write_text("def grid():\\n    return {'tasks': 1, 'learners': 2, 'cv': None}\\n")
    >>> sorted(load_grid_file(f).items())
    [('cv', None), ('learners', 2), ('tasks', 1)]
    """
    path = Path(path)
    if path.suffix != ".py" or not path.is_file():
        raise InputError(
            f"grid must be an existing .py file defining tasks, learners and cv, got "
            f"{str(path)!r}"
        )
    try:
        namespace = runpy.run_path(str(path), run_name="benchgrid_grid")
        if callable(namespace.get("grid")):
            namespace = namespace["grid"]()
            if not isinstance(namespace, dict):
                raise InputError(
                    f"grid() in {str(path)!r} must return a dict with keys among "
                    f"{GRID_NAMES}, got {type(namespace).__name__}"
                )
    except InputError:
        raise
    except Exception as err:  # the user's code failed: show where, not our stack
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == str(path)]
        where = f" at line {frames[-1].lineno}" if frames else ""
        raise InputError(
            f"grid file {str(path)!r} raised {type(err).__name__}{where}: {err}; "
            f"fix it and run again (python {str(path)!r} shows the full traceback)"
        ) from None
    unknown = sorted(k for k in namespace if k in ("task", "learner", "splitter", "measure"))
    if unknown:
        raise InputError(
            f"grid file {str(path)!r} defines {unknown!r}; the names are plural: "
            "tasks, learners, measures (and cv)"
        )
    missing = [k for k in require if k not in namespace]
    if missing:
        raise InputError(
            f"grid file {str(path)!r} must define {', '.join(missing)}; it defines "
            f"{sorted(k for k in namespace if k in GRID_NAMES)!r}"
        )
    return {k: namespace[k] for k in GRID_NAMES if k in namespace}
