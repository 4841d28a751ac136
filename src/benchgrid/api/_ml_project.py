"""``MLProject``: a project made from tasks, learners and a splitter."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._errors import ProjectError
from ._ml_methods import MLMethods
from ._project import Project

if TYPE_CHECKING:
    import pandas as pd

    from ..ml import Comparison

__all__ = ["MLProject"]


class MLProject(MLMethods, Project, kind="ml"):
    """An ML project: :class:`Project` plus ``scores``, ``predictions``, ``add``, ``try_jobs`` and ``compare``.

    ``Project.create(path, tasks, learners, cv, ...)`` and ``Project.open``
    of such a project return one; its :meth:`results` show the splitter's
    column names (``test.subset``, ``train.subsets``, ``n.train.groups``),
    as in mlr3resampling's ``score()`` table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import benchgrid as bg
    >>> proj = bg.Project.open(pathlib.Path(tempfile.mkdtemp()))  # doctest: +SKIP
    >>> isinstance(proj, bg.MLProject)  # doctest: +SKIP
    True
    """

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__(path)
        if "ml" not in self.metadata:
            raise ProjectError(
                f"project {str(self.path)!r} is not an ML project (it was created from a job table and a runner); "
                "open it with Project.open"
            )

    def results(self, *, dropped: bool = False) -> "pd.DataFrame":
        """Like :meth:`Project.results`, with the splitter's column names (``test.subset``).

        Every column run_ml_job returns is there, in one dtype whatever the
        jobs' states (measures float64, ``n_warnings`` Int64, text columns
        str or None), also before any job ran.
        """
        from ..ml import with_ml_result_dtypes

        ml = self._ml()
        # job parameters are identifiers (test_subset); show the splitter's names (test.subset)
        table = super().results(dropped=dropped).rename(columns=ml.get("columns", {}))
        return with_ml_result_dtypes(table, list(ml.get("measures", [])))

    def compare(self, measure: str | None = None, **options: Any) -> Comparison:
        """Which learner is better: :func:`benchgrid.compare` on this project's scores.

        Dropped jobs count as missing folds, named as dropped (they are not
        in :meth:`scores`), so a task where some learner's jobs were dropped
        is not ranked silently. ``options`` are :func:`benchgrid.compare`'s
        (``alpha``, ``greater_is_better``, ``incomplete``, ``train_subsets``,
        ``test_train_ratio``, ``rope``).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import benchgrid as bg
        >>> from benchgrid.ml._demo import demo_grid
        >>> g = demo_grid()
        >>> proj = bg.Project.create(pathlib.Path(tempfile.mkdtemp()) / "p", g["tasks"],
        ...                          g["learners"], g["cv"], measures=g["measures"])
        >>> _ = proj.run(n_workers=0, progress=False)
        >>> c = proj.compare("rmse")
        >>> c.learners, len(c.tasks)
        (['rpart', 'featureless'], 2)
        """
        from ..ml import compare

        return compare(self.comparison_scores(), measure, **options)

    def comparison_scores(self) -> Any:
        """The scores :meth:`compare` ranks: :meth:`scores` and the rows of dropped jobs (as missing folds).

        Read once, it compares every measure: ``bg.compare(table, measure)``.
        """
        import pandas as pd

        scores = self.scores()
        every = self.results(dropped=True)
        if "state" in every.columns and len(scores):
            dropped = every[(every["state"] == "dropped") & ~every["job_id"].isin(scores["job_id"])]
            # rows of a replaced task or learner stay out, as in scores()
            dropped = dropped[dropped["task_key"].isin(scores["task_key"]) & dropped["learner_key"].isin(scores["learner_key"])]
            if len(dropped):
                attrs = scores.attrs
                scores = pd.concat([scores, dropped], ignore_index=True)
                scores.attrs = attrs
        return scores
