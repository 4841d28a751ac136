"""Every code block of README.md and docs/*.md runs as written (see docblocks.py for the markers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from .docblocks import DATA, PYTHON, SHELL, Block, read_blocks

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUNNABLE = [p for p in FILES if any(b.lang in PYTHON | SHELL and b.illustrative is None for b in read_blocks(p))]
# the pages a newcomer follows one after the other, in one folder: they run that way, each page's
# Python in a fresh namespace (a second script), so a step that breaks the next page's fails here
READING_PATH = [ROOT / "README.md", ROOT / "docs" / "getting-started.md"]
RUNS = [READING_PATH, *([p] for p in RUNNABLE if p not in READING_PATH)]


def _slurm_why_not() -> str | None:
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH"
    r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    if r.returncode != 0 or not any(s.startswith(("idle", "mixed", "alloc")) for s in r.stdout.split()):
        return "no usable SLURM node"
    return None


def test_every_file_is_checked() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in RUNNABLE}
    assert {"README.md", "docs/getting-started.md", "docs/ml.md", "docs/soak.md", "docs/plots.md"} <= names
    assert sorted(p for run in RUNS for p in run) == sorted(RUNNABLE)  # each once, the reading path in order


def test_pages_run_in_one_folder_in_order(tmp_path: Path) -> None:
    """A page's blocks see what the previous page left, each page's Python in its own namespace."""
    first, second = tmp_path / "first.md", tmp_path / "second.md"
    first.write_text("```python\nx = 1\n```\n```bash\nmkdir made-by-first\n```\n")
    second.write_text("```bash\nmkdir made-by-first\n```\n")
    with pytest.raises(AssertionError, match=r"FAILED second.md:1: exit code 1"):
        _run_blocks(read_blocks(first) + read_blocks(second), tmp_path)
    second.write_text("```python\nprint(x)\n```\n")
    with pytest.raises(AssertionError, match=r"NameError: name 'x' is not defined"):
        _run_blocks(read_blocks(first) + read_blocks(second), tmp_path / "again")


def test_markers(tmp_path: Path) -> None:
    md = tmp_path / "page.md"
    md.write_text(
        "<!-- docs-test: illustrative placeholders -->\n```\nbenchgrid run DIR\n```\n"
        "```bash\nbenchgrid --version\n```\n"  # a marker covers only the next block
        "<!-- docs-test: setup\nx = 1\n-->\n<!-- docs-test: cwd=examples/sweep -->\n```python\nprint(x)\n```\n"
        "<!-- docs-test: illustrative a reason -->\n\nSome prose.\n\n```bash\ntrue\n```\n"  # prose breaks it
    )
    blocks = read_blocks(md)
    assert [(b.line, b.lang, b.illustrative) for b in blocks] == [
        (2, "", "placeholders"), (5, "bash", None), (12, "python", None), (19, "bash", None),
    ]
    assert blocks[2].setup == ["x = 1\n"] and blocks[2].cwd == "examples/sweep" and blocks[1].cwd == "."
    md.write_text("<!-- docs-test: illustrative -->\n```bash\ntrue\n```\n")
    with pytest.raises(ValueError, match="needs a reason"):
        read_blocks(md)
    md.write_text("```bash\na\n```\n<!-- docs-test: illustrative-file slow benchmarks -->\n")
    assert [b.illustrative for b in read_blocks(md)] == ["slow benchmarks"]


def test_a_failing_block_fails_the_run(tmp_path: Path) -> None:
    md = tmp_path / "bad.md"
    md.write_text("```python\nx = 1\n```\n```bash\nbenchgrid status no-such-dir\n```\n")
    with pytest.raises(AssertionError, match=r"FAILED bad.md:4: exit code 2"):
        _run_blocks(read_blocks(md), tmp_path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_blocks_have_known_languages(path: Path) -> None:
    for b in read_blocks(path):
        assert b.lang in PYTHON | SHELL | DATA, f"{b.where}: unknown block language {b.lang!r}"
        if b.lang in DATA and b.lang == "toml":
            tomllib.loads(b.code)


@pytest.mark.slow
@pytest.mark.parametrize("paths", RUNS, ids=lambda run: "+".join(p.relative_to(ROOT).as_posix() for p in run))
def test_blocks_run(paths: list[Path], tmp_path: Path) -> None:
    blocks = [b for path in paths for b in read_blocks(path) if b.lang in PYTHON | SHELL and b.illustrative is None]
    if any(b.slurm for b in blocks):
        why = _slurm_why_not()
        if why is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{' and '.join(p.name for p in paths)} have SLURM blocks and {why} (CI=true: they must run)")
            blocks = [b for b in blocks if not b.slurm]
    _run_blocks(blocks, tmp_path)


def _run_blocks(blocks: list[Block], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([
        {"where": b.where, "lang": b.lang, "code": b.code, "cwd": b.cwd, "setup": b.setup} for b in blocks
    ]))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a newcomer has it
    env.update(
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        MPLBACKEND="Agg",
        BENCHGRID_EXAMPLE_SMALL="1",
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # not the user's benchgrid config
    )
    env.pop("BENCHGRID_CONFIG", None)
    r = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("docs_driver.py")), str(spec), str(work)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, f"{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
