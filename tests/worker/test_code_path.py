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


# -- issue 23: learners, measures and runners from the user's own module ------------------------
MYLEARN = '''
from sklearn.dummy import DummyRegressor


class MyLearner(DummyRegressor):
    pass


def max_abs(y_true, y_pred):
    return float(abs(y_true - y_pred).max())
'''

SCRIPT = '''
import sys
sys.path.insert(0, "pkg")  # the user's own folder, not installed, not on PYTHONPATH
import numpy as np, pandas as pd
import benchgrid as bg
from mylearn import MyLearner, max_abs

df = pd.DataFrame({"x": np.arange(12.0), "y": np.arange(12.0) * 0.37 + 0.1})
proj = bg.Project.create(sys.argv[1], {"t": bg.Task(df, target="y")}, {"mine": MyLearner()}, 3,
                         measures=["rmse", {"worst": max_abs}] {extra})
'''


@pytest.fixture
def pkg_dir(tmp_path: Path) -> Path:
    d = tmp_path / "my 'study'"
    (d / "pkg").mkdir(parents=True)
    (d / "pkg" / "mylearn.py").write_text(MYLEARN)
    return d


def _script(pkg_dir: Path, extra: str = "") -> Path:
    script = pkg_dir / "make.py"
    script.write_text(SCRIPT.replace("{extra}", extra))
    return script


def test_learner_from_a_folder_the_script_put_on_sys_path_runs_on_workers(pkg_dir: Path, tmp_path: Path) -> None:
    """It used to be created, then every job failed with a bare "No module named 'mylearn'", try too, and
    ``add --grid`` crashed with a traceback."""
    proj = tmp_path / "proj"
    r = subprocess.run([sys.executable, str(_script(pkg_dir)), str(proj)], cwd=pkg_dir, env=_env(),
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert str(pkg_dir / "pkg") in json.loads((proj / "project.json").read_text())["code_path"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = _benchgrid("try", str(proj), cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _benchgrid("run", str(proj), "--workers", "2", "--no-progress", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    more = elsewhere / "more.py"
    more.write_text("from sklearn.linear_model import Ridge\nlearners = {'ridge': Ridge()}\n")
    r = _benchgrid("add", str(proj), "--grid", str(more), cwd=elsewhere)
    assert r.returncode == 0 and "added 3 jobs" in r.stdout, r.stdout + r.stderr
    r = _benchgrid("run", str(proj), "--workers", "2", "--no-progress", cwd=elsewhere)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _benchgrid("results", str(proj), "-o", str(tmp_path / "r.csv"), cwd=elsewhere)
    import pandas as pd

    table = pd.read_csv(tmp_path / "r.csv")
    assert set(table["state"]) == {"done"} and len(table) == 6 and table["worst"].notna().all()


def test_learner_a_fresh_python_cannot_load_is_refused_naming_it(pkg_dir: Path, tmp_path: Path) -> None:
    """A code path that leaves out the module's folder: refused at creation, exit 2-worthy InputError, nothing written."""
    proj = tmp_path / "proj"
    r = subprocess.run([sys.executable, str(_script(pkg_dir, ", code_path=[]")), str(proj)], cwd=pkg_dir,
                       env=_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode != 0 and not proj.exists()
    last = r.stderr.strip().splitlines()[-1]
    assert "InputError: learner 'mine' cannot be loaded by a worker: ModuleNotFoundError: No module named 'mylearn'" in last
    assert f"'mylearn' (from {pkg_dir / 'pkg'})" in last and "pip install -e ." in last and "code_path=" in last


def test_module_folder_writable_by_others_is_refused_with_the_reason(pkg_dir: Path, tmp_path: Path) -> None:
    (pkg_dir / "pkg").chmod(0o777)
    proj = tmp_path / "proj"
    r = subprocess.run([sys.executable, str(_script(pkg_dir)), str(proj)], cwd=pkg_dir, env=_env(),
                       capture_output=True, text=True, timeout=240)
    assert r.returncode != 0 and not proj.exists()
    last = r.stderr.strip().splitlines()[-1]
    assert "learner 'mine' cannot be loaded by a worker" in last and "writable by other users" in last
    assert "chmod go-w" in last


def test_runner_whose_module_imports_a_folder_only_the_script_knows_is_refused(tmp_path: Path) -> None:
    """The runner's own folder is recorded; a helper it imports from another sys.path entry is not."""
    code = tmp_path / "code"
    (code / "helpers").mkdir(parents=True)
    (code / "helpers" / "util_cp23.py").write_text("def ten():\n    return 10\n")
    (code / "sim_cp23.py").write_text("from util_cp23 import ten\n\ndef run(n):\n    return {'v': n * ten()}\n")
    script = code / "make.py"
    script.write_text(
        "import sys\nsys.path.insert(0, 'helpers')\nimport benchgrid as bg\n"
        f"bg.Project.create({str(tmp_path / 'proj')!r}, [{{'n': 1}}], 'sim_cp23:run')\n"
    )
    r = subprocess.run([sys.executable, str(script)], cwd=code, env=_env(), capture_output=True, text=True,
                       timeout=240)
    assert r.returncode != 0 and not (tmp_path / "proj").exists()
    assert ("runner 'sim_cp23:run': importing module 'sim_cp23' raised ModuleNotFoundError: No module named "
            "'util_cp23'" in r.stderr), r.stderr
    assert f"pass code_path=[...] with its folder (a fresh Python with the project's code path {[str(code)]!r}" \
        in r.stderr


def test_worker_that_cannot_load_a_learner_names_it_and_gives_the_fix(pkg_dir: Path, tmp_path: Path) -> None:
    """A project whose module moved away after creation: each job's error names the learner and the fix."""
    import shutil

    proj = tmp_path / "proj"
    r = subprocess.run([sys.executable, str(_script(pkg_dir)), str(proj)], cwd=pkg_dir, env=_env(),
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    shutil.move(str(pkg_dir / "pkg"), str(tmp_path / "moved"))
    r = _benchgrid("run", str(proj), "--workers", "1", "--no-progress", cwd=tmp_path)
    import benchgrid as bg

    errors = bg.Project.open(proj).errors()["error"].tolist()
    assert errors and all(
        ("learner 'mine' cannot be loaded: ModuleNotFoundError: No module named 'mylearn'" in e
         or "measures and cv (inputs/ml_objects.pkl) cannot be loaded" in e) and "pip install -e ." in e
        for e in errors
    ), errors
