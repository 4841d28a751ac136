"""`benchgrid --version`, and every command's --help ends with examples that parse."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

import benchgrid
from benchgrid.cli.main import COMMANDS, EXAMPLES, build_parser, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"benchgrid {benchgrid.__version__}"


def test_version_from_the_installed_command() -> None:
    r = subprocess.run([sys.executable, "-m", "benchgrid", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"benchgrid {benchgrid.__version__}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_ends_with_examples_that_parse(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.rstrip().splitlines()
    examples = EXAMPLES[command]
    assert 1 <= len(examples) <= 2
    assert out[-len(examples) - 1] == "examples:"
    assert [line.strip() for line in out[-len(examples):]] == list(examples)
    for example in examples:
        argv = shlex.split(example)
        assert argv[:2] == ["benchgrid", command]
        args = build_parser(command).parse_args(argv[1:])  # an example that does not parse exits 2
        assert args.command == command
