"""``MLProject``: a project made from tasks, learners and a splitter."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._errors import ProjectError
from ._ml_methods import MLMethods
from ._project import Project

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MLProject"]


class MLProject(MLMethods, Project, kind="ml"):
    """An ML project: :class:`Project` plus ``scores``, ``predictions``, ``add`` and ``try_jobs``.

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
        """Like :meth:`Project.results`, with the splitter's column names (``test.subset``)."""
        # job parameters are identifiers (test_subset); show the splitter's names (test.subset)
        return super().results(dropped=dropped).rename(columns=self._ml().get("columns", {}))
