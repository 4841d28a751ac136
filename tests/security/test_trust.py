"""check_trust over every kind of path that decides what runs (in-process, no other user needed)."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import pytest

import benchgrid as bg
from benchgrid.store import check_trust
from benchgrid.store.storage._safe_io import make_dir, open_file
from benchgrid.store.storage._trust import GroupWarning

RUNNER = "tests.runners.jobs:echo"


@pytest.mark.parametrize(
    ("relpath", "mode"),
    [
        (".", 0o777),
        ("project.json", 0o646),
        ("config.toml", 0o666),  # SLURM setup lines: shell code
        ("jobs", 0o757),
        ("jobs/part-00000.jsonl", 0o606),
        ("queue", 0o777),
        ("queue/claims.log", 0o666),
        ("workers", 0o777),
        ("inputs", 0o777),
        ("inputs/learners", 0o757),
        ("inputs/learners/x.pkl", 0o666),
    ],
)
def test_anything_others_can_write_is_refused(proj_dir: Path, relpath: str, mode: int) -> None:
    bg.Project.create(proj_dir, [{"i": 1}], RUNNER)
    (proj_dir / "config.toml").write_text("[slurm]\n")
    (proj_dir / "inputs" / "learners").mkdir()
    (proj_dir / "inputs" / "learners" / "x.pkl").write_bytes(b"")
    check_trust(proj_dir)
    target = proj_dir / relpath
    target.chmod(mode)
    name = "proj" if relpath == "." else target.name
    with pytest.raises(bg.ProjectError, match=rf"{name}. is writable by every user .*chmod -R go-w"):
        check_trust(proj_dir)
    with pytest.raises(bg.ProjectError, match="writable by every user"):
        bg.Project.open(proj_dir).run(n_workers=0, progress=False)
    assert bg.Project.open(proj_dir).status().counts["done"] == 0


def test_group_shared_allows_the_project_group_only(proj_dir: Path) -> None:
    with warnings.catch_warnings():  # the private-group warning is tested with a real user elsewhere
        warnings.simplefilter("ignore", GroupWarning)
        bg.Project.create(proj_dir, [{"i": 1}], RUNNER, group_shared=True)
    for p in [proj_dir, *proj_dir.rglob("*")]:
        want = 0o2770 if p.is_dir() else 0o660
        assert stat.S_IMODE(p.stat().st_mode) == want, p
    check_trust(proj_dir)
    os.chown(proj_dir / "project.json", -1, 1)  # group-writable by another group (daemon)
    with pytest.raises(bg.ProjectError, match="project.json. is writable by group .*chgrp -R"):
        check_trust(proj_dir)


def test_modes_are_explicit_whatever_the_umask(tmp_path: Path) -> None:
    shared, private = tmp_path / "shared", tmp_path / "private"
    shared.mkdir(mode=0o2770)
    shared.chmod(0o2770)
    private.mkdir(mode=0o700)
    old = os.umask(0o077)
    try:
        for folder, file_mode, dir_mode in ((shared, 0o660, 0o2770), (private, 0o600, 0o700)):
            with open_file(folder / "log", "ab") as f:
                f.write(b"x")
            make_dir(folder / "sub")
            assert stat.S_IMODE((folder / "log").stat().st_mode) == file_mode
            assert stat.S_IMODE((folder / "sub").stat().st_mode) == dir_mode
    finally:
        os.umask(old)
    os.umask(0o000)
    try:
        with open_file(private / "other", "w") as f:
            f.write("y")
        assert stat.S_IMODE((private / "other").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_a_link_in_place_of_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "workers").symlink_to(tmp_path / "real")
    with pytest.raises(bg.ProjectError, match="workers. is a symbolic link"):
        make_dir(tmp_path / "workers")
    assert list((tmp_path / "real").iterdir()) == []
