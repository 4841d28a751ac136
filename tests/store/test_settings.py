"""ProjectSettings: one place for every default and check of a project's settings."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from benchgrid import InputError, Project
from benchgrid.store import ProjectSettings


def test_project_create_defaults_are_the_settings_defaults() -> None:
    params = inspect.signature(Project.create).parameters
    for name in ("lease_s", "max_attempts", "lock", "lock_lease_s", "group_shared"):
        assert params[name].default == getattr(ProjectSettings(), name)


def test_round_trip_through_project_json(proj_dir: Path) -> None:
    proj = Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo", lease_s=30, duration_key=["i"])
    settings = ProjectSettings.from_dict(proj.settings)
    assert settings.lease_s == 30 and settings.duration_key == ("i",)
    assert settings.to_dict() == {k: v for k, v in proj.settings.items() if k in settings.to_dict()}


def test_missing_keys_take_their_defaults_and_unknown_keys_are_ignored() -> None:
    assert ProjectSettings.from_dict({"later_key": 1}) == ProjectSettings()


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"lease_s": 0}, r"lease_s must be a number > 0 and finite \(seconds\), got 0"),
        ({"lease_s": float("nan")}, r"lease_s must be a number > 0"),
        ({"max_attempts": True}, r"max_attempts must be an integer >= 1, got True"),
        ({"lock": "nfs"}, r"lock must be one of .* got 'nfs'"),
        ({"lock_lease_s": 0.001}, r"lock_lease_s must be a number >= "),
        ({"group_shared": "yes"}, r"group_shared must be True or False, got 'yes'"),
        ({"duration_key": "task_id"}, r"duration_key must be a list of job column names, got 'task_id'"),
        ({"default_job_s": -1}, r"default_job_s must be a number > 0 \(seconds\) or None, got -1"),
        ({"memory_key": ""}, r"memory_key must be the name of a job column"),
    ],
)
def test_bad_values_are_named(values: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        ProjectSettings.from_dict(values)


def test_bad_setting_leaves_nothing_written(proj_dir: Path) -> None:
    with pytest.raises(InputError, match="duration_key must be a list"):
        Project.create(proj_dir, [{"i": 0}], "tests.runners.jobs:echo", duration_key="i")  # type: ignore[arg-type]
    assert not proj_dir.exists()


def test_no_module_restates_a_default() -> None:
    """Defaults live in ProjectSettings only: readers of the plain dict use ``setting(settings, name)``."""
    import re
    from pathlib import Path

    from benchgrid.store.storage._settings import DEFAULTS

    src = Path(__file__).resolve().parents[2] / "src" / "benchgrid"
    names = "|".join(DEFAULTS)
    # a literal default (a number, a string, True/False/None) after the name: a restated default
    pattern = re.compile(r"""\.get\(\s*["'](%s)["']\s*,\s*(-?\d|["']|True|False|None)""" % names)
    restated = [f"{p.relative_to(src)}: {m.group(0)}" for p in src.rglob("*.py") if p.name != "_settings.py"
                for m in pattern.finditer(p.read_text())]
    assert restated == []
