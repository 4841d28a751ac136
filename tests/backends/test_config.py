"""Configuration files: where they are, precedence, and errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgrid.backends._config import (
    project_config_path,
    read_config,
    slurm_settings,
    user_config_path,
)
from benchgrid._errors import InputError


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home of \"ada\" o'neil"
    h.mkdir()
    return h


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "lab's grid; rm -rf ~"
    p.mkdir()
    return p


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_user_config_path_order(home: Path) -> None:
    assert user_config_path({"HOME": str(home)}) == home / ".config" / "benchgrid" / "config.toml"
    xdg = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    assert user_config_path(xdg) == home / "xdg" / "benchgrid" / "config.toml"
    explicit = {**xdg, "BENCHGRID_CONFIG": str(home / "lab.toml")}
    assert user_config_path(explicit) == home / "lab.toml"


def test_project_config_path(project: Path) -> None:
    assert project_config_path(project) == project / "config.toml"


def test_missing_files_give_builtin_defaults(home: Path, project: Path) -> None:
    s = slurm_settings(project, environ={"HOME": str(home)})
    assert s.values == {"cpus_per_worker": 1, "setup": [], "sbatch_args": []}
    assert set(s.sources.values()) == {"built-in default"}


def test_precedence_cli_over_project_over_user_over_builtin(home: Path, project: Path) -> None:
    user = write(
        home / ".config" / "benchgrid" / "config.toml",
        '[slurm]\naccount = "def-lab"\npartition = "cpu"\ntime = "1:00:00"\nmem_gb = 2\n'
        'setup = ["module load python", "source ~/venv/bin/activate"]\n',
    )
    proj = write(project / "config.toml", '[slurm]\npartition = "gpu"\ntime = "4:00:00"\nsetup = "conda activate x"\n')
    s = slurm_settings(
        project, {"time": "0:30:00", "mem_gb": None, "max_parallel": 5}, environ={"HOME": str(home)}
    )
    assert s.values == {
        "account": "def-lab",
        "partition": "gpu",
        "time": "0:30:00",
        "mem_gb": 2,
        "setup": "conda activate x",  # replaced as a whole, not merged
        "sbatch_args": [],
        "cpus_per_worker": 1,
        "max_parallel": 5,
    }
    assert s.sources == {
        "account": str(user),
        "partition": str(proj),
        "time": "command line",
        "mem_gb": str(user),
        "setup": str(proj),
        "sbatch_args": "built-in default",
        "cpus_per_worker": "built-in default",
        "max_parallel": "command line",
    }
    assert f"partition = 'gpu'  # {proj}" in s.describe().splitlines()


def test_benchgrid_config_env_wins_over_xdg(home: Path) -> None:
    write(home / "xdg" / "benchgrid" / "config.toml", '[slurm]\naccount = "from-xdg"\n')
    explicit = write(home / "lab.toml", '[slurm]\naccount = "from-env"\n')
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")}
    assert slurm_settings(environ=env).values["account"] == "from-xdg"
    env["BENCHGRID_CONFIG"] = str(explicit)
    assert slurm_settings(environ=env).values["account"] == "from-env"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[slurm]\naccout = "x"\n', r"unknown key 'slurm\.accout' in .*config\.toml; known keys of \[slurm\]: account, "),
        ('[slrum]\naccount = "x"\n', r"unknown table 'slrum' in .*config\.toml; known tables: \[sge\], \[slurm\]"),
        ('account = "x"\n', r"unknown table 'account' in .*config\.toml"),
        ('slurm = "x"\n', r"'slurm' in .*config\.toml must be a table \(\[slurm\]\), got 'x'"),
        ("[slurm]\nmem_gb = \"4G\"\n", r"'slurm\.mem_gb' in .*config\.toml must be a number > 0, got '4G'"),
        ("[slurm]\nmem_gb = 0\n", r"'slurm\.mem_gb' .* must be a number > 0, got 0"),
        ("[slurm]\ncpus_per_worker = 1.5\n", r"'slurm\.cpus_per_worker' .* must be an integer >= 1, got 1\.5"),
        ("[slurm]\nmax_parallel = true\n", r"'slurm\.max_parallel' .* must be an integer >= 1, got True"),
        ("[slurm]\nsetup = [1]\n", r"'slurm\.setup' .* must be a string or a list of strings"),
        ('[slurm]\nsbatch_args = "--x"\n', r"'slurm\.sbatch_args' .* must be a list of strings"),
        ('[slurm]\naccount = ""\n', r"'slurm\.account' .* must be a non-empty string, got ''"),
        ('[slurm]\ntime = "2 hours"\n', r"'slurm\.time' in .*config\.toml must be a SLURM time limit .* got '2 hours'"),
        ("[slurm\n", r"config\.toml is not valid TOML"),
    ],
)
def test_bad_files_name_key_and_file(project: Path, home: Path, text: str, match: str) -> None:
    path = write(project / "config.toml", text)
    with pytest.raises(InputError, match=match) as info:
        read_config(path)
    assert str(path) in str(info.value)
    # the same error surfaces through slurm_settings
    with pytest.raises(InputError, match=match):
        slurm_settings(project, environ={"HOME": str(home)})


def test_bad_user_file_is_named(home: Path) -> None:
    path = write(home / ".config" / "benchgrid" / "config.toml", '[slurm]\nqueue = "x"\n')
    with pytest.raises(InputError, match="unknown key 'slurm.queue'") as info:
        slurm_settings(environ={"HOME": str(home)})
    assert str(path) in str(info.value)


def test_unknown_override_key(home: Path) -> None:
    with pytest.raises(InputError, match=r"unknown SLURM option\(s\) 'walltime'; known: account, "):
        slurm_settings(overrides={"walltime": "1:00:00"}, environ={"HOME": str(home)})


def test_unreadable_config_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()  # a folder where the file should be
    with pytest.raises(InputError, match="cannot read the configuration file"):
        read_config(folder)


def test_read_config_keeps_only_set_keys(project: Path) -> None:
    path = write(project / "config.toml", '[slurm]\ngres = "gpu:1"\nsbatch_args = ["--constraint=a b"]\n')
    assert read_config(path) == {"slurm": {"gres": "gpu:1", "sbatch_args": ["--constraint=a b"]}}
    assert read_config(project / "absent.toml") == {}
