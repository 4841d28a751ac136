"""Code blocks of Markdown files, and the markers that say how the docs test runs them.

A marker is an HTML comment (invisible on GitHub) on the lines right before
a fenced block:

``<!-- docs-test: illustrative REASON -->``
    Not run: a synopsis with placeholders, a cluster path, an install line.
    The reason is required, so a reader of the source sees why.
``<!-- docs-test: illustrative-file REASON -->`` (anywhere in the file)
    No block of the file runs (docs/performance.md: benchmarks take minutes).
``<!-- docs-test: cwd=PATH -->``
    Run in PATH, relative to the temporary folder (which holds a copy of
    ``examples/``).
``<!-- docs-test: slurm -->``
    Needs a running SLURM; skipped without one, except under ``CI=true``.
``<!-- docs-test: setup`` ... ``-->``
    Hidden Python run before the next block (data a page takes as given).

Blocks tagged ``python`` run in one namespace per file, in order; ``bash``,
``sh``, ``shell`` and untagged blocks run with ``bash -euo pipefail``;
``toml`` blocks must parse. Indented code is not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DATA", "PYTHON", "SHELL", "Block", "read_blocks"]

PYTHON = {"python", "py", "pycon"}
SHELL = {"bash", "sh", "shell", "console", ""}
DATA = {"toml"}

_FENCE = re.compile(r"^(```+)\s*([A-Za-z0-9_+-]*)\s*$")
_MARKER = re.compile(r"^<!--\s*docs-test:\s*(illustrative|slurm|cwd=\S+)(.*?)-->\s*$")
_FILE_MARKER = re.compile(r"^<!--\s*docs-test:\s*illustrative-file\s+(.+?)\s*-->\s*$", re.MULTILINE)
_SETUP_START = re.compile(r"^<!--\s*docs-test:\s*setup\s*$")


@dataclass
class Block:
    """One fenced code block and what the markers before it say."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    illustrative: str | None = None  # the reason, when not run
    cwd: str = "."
    slurm: bool = False
    setup: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file with their markers.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.md"
    >>> _ = p.write_text("<!-- docs-test: illustrative placeholders -->\\n```bash\\nbenchgrid run DIR\\n```\\n")
    >>> [(b.lang, b.code, b.illustrative) for b in read_blocks(p)]
    [('bash', 'benchgrid run DIR\\n', 'placeholders')]
    """
    text_all = path.read_text()
    whole_file = _FILE_MARKER.search(text_all)
    lines = text_all.splitlines()
    blocks: list[Block] = []
    pending: dict[str, object] = {}
    setup: list[str] = []
    i = 0
    while i < len(lines):
        text = lines[i]
        marker = _MARKER.match(text.strip())
        if _FILE_MARKER.match(text.strip()):
            i += 1
            continue
        if _SETUP_START.match(text.strip()):
            j = i + 1
            while j < len(lines) and lines[j].strip() != "-->":
                j += 1
            setup.append("\n".join(lines[i + 1 : j]) + "\n")
            i = j + 1
            continue
        if marker:
            kind, rest = marker.group(1), marker.group(2).strip()
            if kind == "illustrative":
                if not rest:
                    raise ValueError(f"{path.name}:{i + 1}: 'docs-test: illustrative' needs a reason")
                pending["illustrative"] = rest
            elif kind == "slurm":
                pending["slurm"] = True
            else:
                pending["cwd"] = kind.split("=", 1)[1]
            i += 1
            continue
        fence = _FENCE.match(text)
        if fence:
            ticks, lang = fence.group(1), fence.group(2).lower()
            j = i + 1
            while j < len(lines) and not lines[j].startswith(ticks):
                j += 1
            code = "\n".join(lines[i + 1 : j]) + "\n"
            if whole_file:
                pending.setdefault("illustrative", whole_file.group(1))
            blocks.append(Block(path, i + 1, lang, code, setup=setup, **pending))  # type: ignore[arg-type]
            pending, setup = {}, []
            i = j + 1
            continue
        if text.strip():
            pending = {}  # a marker applies to the block right after it
        i += 1
    return blocks
