"""The CLI finds the user's code like Python does: from the folder the project was created from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RUNNER = '''
def simulate(n, seed):
    return {"total": n * 10 + seed}
'''


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a newcomer has it
    return env


def _benchgrid(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchgrid", *args], cwd=cwd, env=_env(), capture_output=True, text=True,
        timeout=240,
    )


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    d = tmp_path / "my code"
    d.mkdir()
    (d / "experiments_cp.py").write_text(RUNNER)
    (d / "jobs.csv").write_text("n,seed\n1,0\n2,1\n3,2\n")
    return d


def test_init_from_code_folder_then_run_from_elsewhere(code_dir: Path, tmp_path: Path) -> None:
    proj = tmp_path / "proj 'x'"
    r = _benchgrid("init", str(proj), "--jobs", "jobs.csv", "--runner", "experiments_cp:simulate", cwd=code_dir)
    assert r.returncode == 0, r.stderr
    info = json.loads((proj / "project.json").read_text())
    assert info["code_path"][0] == str(code_dir)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _benchgrid("run", str(proj), "--workers", "2", "--no-progress", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    r = _benchgrid("results", str(proj), "-o", str(tmp_path / "r.csv"), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    import pandas as pd

    df = pd.read_csv(tmp_path / "r.csv").sort_values("n")
    assert df["total"].tolist() == [10, 21, 32]

    r = _benchgrid("status", str(proj), cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert f"code path: {code_dir}" in r.stdout
    assert "runner: experiments_cp:simulate" in r.stdout

    r = _benchgrid("work", str(proj), cwd=elsewhere)  # one worker, nothing left: exits 0
    assert r.returncode == 0, r.stderr


def test_missing_module_is_a_clear_error(code_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _benchgrid("init", str(tmp_path / "p"), "--jobs", str(code_dir / "jobs.csv"),
                   "--runner", "experiments_cp:simulate", cwd=elsewhere)  # fmt: skip
    assert r.returncode == 2
    assert "runner 'experiments_cp:simulate' cannot be imported" in r.stderr
    assert str(elsewhere) in r.stderr and "create the project from the folder that holds the module" in r.stderr
    assert not (tmp_path / "p").exists()

    # the module disappears after creation: the worker says so, exit 2
    proj = tmp_path / "p2"
    assert _benchgrid("init", str(proj), "--jobs", "jobs.csv", "--runner", "experiments_cp:simulate",
                      cwd=code_dir).returncode == 0  # fmt: skip
    (code_dir / "experiments_cp.py").rename(code_dir / "moved.py")
    for command in (["work", str(proj)], ["run", str(proj), "--workers", "2"],
                    ["submit", str(proj), "--workers", "2", "--dry-run"]):  # fmt: skip
        r = _benchgrid(*command, cwd=elsewhere)
        assert r.returncode == 2, (command, r.stdout, r.stderr)
        assert "No module named 'experiments_cp'" in r.stderr and str(code_dir) in r.stderr, command
        assert r.stderr.count("cannot be imported") == 1  # once, not once per worker
    assert not (proj / "workers").exists() or not any((proj / "workers").iterdir())


def test_code_folder_writable_by_others_is_not_searched(code_dir: Path, tmp_path: Path) -> None:
    proj = tmp_path / "p"
    assert _benchgrid("init", str(proj), "--jobs", "jobs.csv", "--runner", "experiments_cp:simulate",
                      cwd=code_dir).returncode == 0  # fmt: skip
    os.chmod(code_dir, 0o777)
    try:
        r = _benchgrid("work", str(proj), cwd=tmp_path)
        assert r.returncode == 2
        assert "not searched" in r.stderr and "writable by other users" in r.stderr
        r = _benchgrid("status", str(proj), cwd=tmp_path)
        assert "(not searched: it is writable by other users" in r.stdout
    finally:
        os.chmod(code_dir, 0o755)


def test_grid_file_modules_next_to_it(tmp_path: Path) -> None:
    """`init --grid` imports modules beside the grid file; workers unpickle learners from them."""
    d = tmp_path / "ml code"
    d.mkdir()
    (d / "my_learners_cp.py").write_text(
        "from sklearn.dummy import DummyRegressor\n\nclass Mean(DummyRegressor):\n    pass\n"
    )
    (d / "grid.py").write_text(
        "import numpy as np, pandas as pd\nimport benchgrid as bg\nfrom my_learners_cp import Mean\n"
        "df = pd.DataFrame({'x': np.arange(30.0), 'y': np.sin(np.arange(30.0))})\n"
        "tasks = {'t': bg.Task(df, target='y')}\nlearners = {'mean': Mean()}\ncv = 3\n"
    )
    proj = tmp_path / "proj"
    r = _benchgrid("init", str(proj), "--grid", str(d / "grid.py"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _benchgrid("try", str(proj), cwd=tmp_path / "proj")
    assert r.returncode == 0, r.stdout + r.stderr
    r = _benchgrid("run", str(proj), "--workers", "1", "--no-progress", cwd=tmp_path / "proj")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 done" in r.stdout


def test_code_path_at_creation_records_what_python_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchgrid.worker._code_path import code_path_at_creation

    pkg = tmp_path / "src dir" / "mypkg_cp"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "experiments.py").write_text(RUNNER)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(tmp_path / "src dir"))
    monkeypatch.setattr(sys, "argv", [sys.argv[0]])
    # the current folder, then the folder the runner's top-level package was imported from
    assert code_path_at_creation("mypkg_cp.experiments:simulate")[0] == str(cwd)
    assert str(tmp_path / "src dir") in code_path_at_creation("mypkg_cp.experiments:simulate")
    # the standard library and installed packages are not recorded: every worker has them
    assert code_path_at_creation("json:dumps") == [str(cwd)]
    # a script's folder is (python script.py puts it first on sys.path)
    script = tmp_path / "scripts" / "make.py"
    script.parent.mkdir()
    script.write_text("")
    monkeypatch.setattr(sys, "argv", [str(script)])
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", None, raising=False)
    assert code_path_at_creation("json:dumps") == [str(cwd), str(script.parent)]
