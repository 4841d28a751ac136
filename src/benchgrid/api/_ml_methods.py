"""Machine-learning methods of :class:`benchgrid.Project`: scores, add, try_jobs.

The generic core owns the job table and the results; these methods read
and extend an ML project through the core's public methods (``jobs``,
``results``, ``add_jobs``) and the files the ML layer stores under
``inputs/`` (see :mod:`benchgrid.ml._inputs`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import InputError, ProjectError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MLMethods", "select_rows"]

_REPLACED = "replaced.json"  # under inputs/: (kind, id, key) superseded by add(replace=True)


class MLMethods:
    """Mixin holding ``scores``, ``predictions``, ``add`` and ``try_jobs``."""

    path: Path
    info: dict[str, Any]

    # provided by Project (the generic core)
    if TYPE_CHECKING:

        @property
        def metadata(self) -> dict[str, Any]: ...

        def jobs(self) -> pd.DataFrame: ...
        def results(self, *, dropped: bool = False) -> pd.DataFrame: ...
        def add_jobs(self, jobs: Any) -> int: ...

    def _ml(self) -> dict[str, Any]:
        ml = self.metadata.get("ml")
        if ml is None:
            raise ProjectError(
                f"project {str(self.path)!r} is not an ML project (it was created from a "
                "job table and a runner); use results() instead"
            )
        return dict(ml)

    def scores(self, where: dict[str, Any] | None = None) -> pd.DataFrame:
        """The score table: one row per job, with the splitter's column names.

        Like :meth:`results`, but metadata columns carry the splitter's
        own names (``test.subset``, ``train.subsets``, ``n.train.groups``:
        the shape of mlr3resampling's ``score()``), and rows of tasks or
        learners replaced by ``add(..., replace=True)`` are left out.
        ``where={"learner_id": "rf"}`` keeps the rows with those values.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import benchgrid as bg
        >>> from benchgrid.ml._demo import demo_grid
        >>> g = demo_grid()
        >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", g["tasks"],
        ...                          g["learners"], g["cv"], measures=g["measures"])
        >>> _ = proj.run(n_workers=0, progress=False)
        >>> s = proj.scores()
        >>> len(s), {"test.subset", "train.subsets", "rmse"} <= set(s.columns)
        (72, True)
        """
        ml = self._ml()
        table = self.results().rename(columns=ml.get("columns", {}))
        replaced = _read_replaced(self.path)
        if replaced and len(table):
            drop = table.apply(
                lambda r: ("task", r["task_id"], r["task_key"]) in replaced
                or ("learner", r["learner_id"], r["learner_key"]) in replaced,
                axis=1,
            )
            table = table[~drop].reset_index(drop=True)
        if where:
            table = table[select_rows(table, where)].reset_index(drop=True)
        # the project's own measure list: p-values and plots take the default measure from it, never
        # from guessing which numeric column is a score (a new metadata column is not a measure)
        table.attrs["measures"] = list(ml.get("measures", []))
        table.attrs["greater_is_better"] = dict(ml.get("greater_is_better", {}))
        return table

    def predictions(self) -> pd.DataFrame:
        """Test-set predictions as a long table (needs ``save_predictions=True``).

        Columns: job_id, task_id, learner_id, iteration, row (in the task),
        truth, response, and ``prob.<class>`` for classifiers.
        """
        import pandas as pd

        if not self._ml().get("save_predictions"):
            raise InputError(
                "predictions() needs a project created with save_predictions=True; "
                "create the project again with it"
            )
        files = sorted((self.path / "predictions").glob("*.parquet"))
        if not files:
            return pd.DataFrame(columns=["job_id", "task_id", "learner_id", "iteration", "row",
                                         "truth", "response"])  # fmt: skip
        pred = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        jobs = self.jobs()[["job_id", "task_id", "learner_id", "iteration"]]
        return jobs.merge(pred, on="job_id", how="inner")

    def add(self, tasks: Any = None, learners: Any = None, *, replace: bool = False,
            trust_owner: bool = False) -> int:  # fmt: skip
        """Append jobs for new tasks and/or learners; return how many were added.

        New tasks get a job per (learner, split) for every learner of the
        project, new learners one per (task, split) for every task; the
        project's cv and measures apply. Done results stay, and workers
        already running pick the new jobs up. A task or learner id already in
        the project with another definition is an error unless
        ``replace=True``, which adds jobs for the new definition and drops the
        old one's rows from :meth:`scores`.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import benchgrid as bg
        >>> from sklearn.linear_model import Ridge
        >>> from benchgrid.ml._demo import demo_grid
        >>> g = demo_grid()
        >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", g["tasks"],
        ...                          g["learners"], g["cv"], measures=g["measures"])
        >>> proj.add(learners={"ridge": Ridge()})
        36
        """
        from ..ml import add_to_grid

        ml = self._ml()
        _check_project(self.path, trust_owner)  # before unpickling the project's learners
        from ..worker import use_code_path

        use_code_path(self.info)  # the project's learners come from where it recorded (issue 23)
        added = add_to_grid(self.info, self.path / "inputs", self.jobs(), tasks, learners, replace=replace,
                            described_tasks=ml.get("tasks", {}), default_order=ml.get("order", "train_size"))
        if not added.jobs:
            return 0
        if added.replaced:
            _write_replaced(self.path, _read_replaced(self.path) | set(added.replaced))
        n = self.add_jobs(added.jobs)
        self._update_ml_metadata(added.tasks, added.learners, added.columns, added.code_folders)
        return n

    def _update_ml_metadata(self, tasks: dict[str, Any], learners: dict[str, Any],
                            columns: dict[str, str], code_folders: list[str] | None = None) -> None:
        """Record added (or replaced) tasks and learners in project.json's metadata (and their modules' folders)."""
        from ..ml import describe_learner
        from ..store import read_project_json, write_project_json

        info = read_project_json(self.path)
        if code_folders:  # before the workers that run the new jobs start, after those that run the old ones
            info["code_path"] = [*(info.get("code_path") or []), *code_folders]
        ml = info.setdefault("metadata", {}).setdefault("ml", {})
        ml.setdefault("tasks", {}).update({t: v.describe() for t, v in tasks.items()})
        ml.setdefault("learners", {}).update({i: describe_learner(e) for i, e in learners.items()})
        ml.setdefault("columns", {}).update(columns)
        write_project_json(self.path, info)  # atomic (temp file + rename)
        if hasattr(self, "info"):
            self.info = info

    def try_jobs(self, sample: int | None = None, *, seed: int = 0, trust_owner: bool = False) -> pd.DataFrame:
        """Run one job per (task, learner) here and extrapolate the grid's CPU time.

        The tried job is the pair's largest training set (or ``sample`` rows
        of it). Returns one row per pair: n_train, n_test, fit_s,
        predict_s, peak_mem_mb, error, the fit time model (fit_fixed_s,
        fit_per_row_s, predict_per_row_s), n_jobs and est_cpu_s (the pair's
        jobs: a fixed fit time plus a time per training row, timed at two
        sizes). Nothing is written to the project.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import benchgrid as bg
        >>> from benchgrid.ml._demo import demo_grid
        >>> g = demo_grid()
        >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", g["tasks"],
        ...                          g["learners"], g["cv"], measures=g["measures"])
        >>> t = proj.try_jobs()
        >>> len(t), int(t["n_jobs"].sum()), bool(t["error"].isna().all())
        (4, 72, True)
        """
        from ..ml import try_project

        self._ml()
        if sample is not None and (not isinstance(sample, int) or sample < 2):
            raise InputError(f"sample must be an int >= 2 (training rows), got {sample!r}")
        _check_project(self.path, trust_owner)  # once, before unpickling anything
        from ..worker import use_code_path

        use_code_path(self.info)  # pickled learners may come from the user's modules (as add and workers do)
        return try_project(self.path, self.jobs().to_dict(orient="records"), seed, sample)


def select_rows(table: pd.DataFrame, where: dict[str, Any]) -> Any:
    """Boolean mask of the rows whose columns equal every value of ``where``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"learner_id": ["rf", "lm", "rf"], "iteration": [1, 1, 2]})
    >>> select_rows(t, {"learner_id": "rf", "iteration": 2}).tolist()
    [False, False, True]
    >>> select_rows(t, {"learner": "rf"})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: where names column 'learner', which the table does not have; columns: ['learner_id', 'iteration']
    """
    import numpy as np

    mask = np.ones(len(table), dtype=bool)
    for col, value in where.items():
        if col not in table.columns:
            raise InputError(f"where names column {col!r}, which the table does not have; "
                             f"columns: {list(table.columns)!r}")
        values = table[col]
        # "--where iteration=2" gives an int, "--where test.subset=1" may mean the text "1"
        mask &= ((values == value) | (values.astype(str) == str(value))).to_numpy()
    return mask


def _check_project(root: Path, trust_owner: bool) -> None:
    from ..store import check_trust

    check_trust(root, trust_owner=trust_owner)


def _read_replaced(root: Path) -> set[tuple[str, str, str]]:
    path = root / "inputs" / _REPLACED
    if not path.exists():
        return set()
    return {tuple(x) for x in json.loads(path.read_text())}  # type: ignore[misc]


def _write_replaced(root: Path, items: set[tuple[str, str, str]]) -> None:
    from ..ml import write_bytes_atomic

    write_bytes_atomic(root / "inputs" / _REPLACED, json.dumps(sorted(items)).encode())
