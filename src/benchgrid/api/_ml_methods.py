"""Machine-learning methods of :class:`benchgrid.Project` (filled by the ML layer)."""

from __future__ import annotations


class MLMethods:
    """Mixin holding ``add``, ``try_jobs`` and the ML views of a project."""
