"""One rule per fact: a setting, the dead-worker rule and the "finished" count are each written once.

Read with :mod:`ast` over ``src/benchgrid`` (nothing imported to check).
Each finder below names the one module a rule lives in; the same rule
written anywhere else (a ``.get`` on a settings dict, a default restated in
the CLI, a heartbeat compared with ``lease_s``, ``done + error + failed``)
fails here, naming the file and the line. docs/design-notes.md, "Where a
rule lives", lists them.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from benchgrid.store import FINISHED_STATES, ProjectSettings, n_finished

SRC = Path(__file__).resolve().parents[1] / "src" / "benchgrid"
SETTINGS = {f.name for f in fields(ProjectSettings)}

#: files the wave's lead is editing: their settings reads move to attributes with their next commit
#: (the test fails once one is clean, so the entry is then removed)
PENDING: set[str] = set()


def _settings_dict(node: ast.expr) -> bool:
    """``settings``, ``self.settings``, ``queue.settings``, ``info["settings"]``, ``info.get("settings", {})``."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "settings"):
        return True
    text = ast.unparse(node)
    return text.endswith(("settings", "['settings']", '["settings"]')) and not text.endswith("project_settings")


def settings_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``settings.get(...)``, ``settings["key"]`` and ``setting(settings, key)``: a settings dict read by key."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "get" and _settings_dict(func.value):
                yield node.lineno, ast.unparse(node)
            elif (isinstance(func, ast.Name) and func.id == "setting") or (
                    isinstance(func, ast.Attribute) and func.attr == "setting"):
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
                node.slice.value in SETTINGS and _settings_dict(node.value):
            yield node.lineno, ast.unparse(node)


def restated_cli_settings(tree: ast.AST, help_too: bool) -> Iterator[tuple[int, str]]:
    """An option named after a setting with a literal default (or, in ``init``, a literal help text)."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"):
            continue
        names = {a.value.lstrip("-").replace("-", "_") for a in node.args if isinstance(a, ast.Constant)}
        if not names & {n for s in SETTINGS for n in (s, s.removesuffix("_s"))}:
            continue
        for kw in node.keywords:
            literal = isinstance(kw.value, ast.Constant) and kw.value.value is not None
            if literal and (kw.arg == "default" or (help_too and kw.arg == "help")):
                yield node.lineno, f"{sorted(names)[0]}: {kw.arg}={ast.unparse(kw.value)}"


def dead_worker_rules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """A comparison of a heartbeat with ``lease_s``: the dead-worker rule (``store.is_dead``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            text = ast.unparse(node)
            if "heartbeat" in text and "lease_s" in text:
                yield node.lineno, text


def finished_counts(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """A sum naming two finished states (``c["done"] + c["error"] + ...``): ``store.n_finished``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            named = {c.value for c in ast.walk(node) if isinstance(c, ast.Constant)} & set(FINISHED_STATES)
            if len(named) >= 2:
                yield node.lineno, ast.unparse(node)


#: The words of the four kinds of check (docs/design-notes.md, "Where a rule lives"): trust (who may write
#: the project: store/storage/_trust.py), integrity (damaged files: store/storage/_integrity.py), audit (the
#: replay of the logs `benchgrid check` prints: store/views/_audit.py), validate (settings and input, where
#: they are typed). A lock's own ``check_held`` and a local helper named ``check`` are not kinds of check.
CHECK_WORDS = ("trust", "integrity")
NOT_A_KIND_OF_CHECK = {"check_held", "check"}
#: The names before the words (gone from store/__init__.py once every branch was merged; never again in src).
OLD_CHECK_NAMES = {"CheckReport", "check_logs", "last_check", "check_project", "ensure_checked", "unsafe_reason",
                   "check_project_files", "check_job_timeout_s", "check_pool_name", "check_settings"}


def checks_without_their_word(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """A function or class named for a "check" that does not say which kind (audit and validate say so)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name.lower()
            if "check" in name and node.name not in NOT_A_KIND_OF_CHECK and not any(w in name for w in CHECK_WORDS):
                yield node.lineno, node.name


def old_check_names(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """A use of a name from before the words (``check_project`` for ``check_trust``, ...)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in OLD_CHECK_NAMES:
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute) and node.attr in OLD_CHECK_NAMES:
            yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom):
            yield from ((node.lineno, a.name) for a in node.names if a.name in OLD_CHECK_NAMES)


Finder = Callable[[ast.AST], Iterator[tuple[int, str]]]


def found(finder: Finder, home: str, root: Path = SRC, under: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((root / under).rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == home:
            continue
        hits = [f"{rel}:{line}: {text}" for line, text in finder(ast.parse(path.read_text(), str(path)))]
        if hits:
            out[rel] = hits
    return out


def test_settings_are_read_as_attributes_of_one_project_settings() -> None:
    hits = found(settings_reads, "store/storage/_settings.py")
    assert sorted(PENDING - set(hits)) == [], "clean now: remove it from PENDING"
    restated = [h for rel, hs in hits.items() if rel not in PENDING for h in hs]
    assert restated == [], ("read settings as ProjectSettings attributes (ProjectSettings.of(...).lease_s), "
                            "never by key:\n" + "\n".join(restated))


def test_the_cli_takes_setting_defaults_and_help_from_project_settings() -> None:
    restated = [h for rel, hs in found(lambda t: restated_cli_settings(t, False), "", under="cli").items() for h in hs]
    restated += [f"{line}: {text}" for line, text in
                 restated_cli_settings(ast.parse((SRC / "cli" / "_cmd_init.py").read_text()), True)]
    assert restated == [], "CLI options that restate a setting's default or help:\n" + "\n".join(restated)


def test_init_parses_to_the_settings_defaults_and_says_their_help(capsys: pytest.CaptureFixture[str]) -> None:
    from benchgrid.cli.main import build_parser

    args = build_parser("init").parse_args(["init", "p", "--jobs", "j.csv", "--runner", "m:f"])
    default = ProjectSettings()
    assert (args.lease_s, args.max_attempts, args.lock, args.group_shared, args.job_timeout) == (
        default.lease_s, default.max_attempts, default.lock, default.group_shared, default.job_timeout_s)
    with pytest.raises(SystemExit):
        build_parser("init").parse_args(["init", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("lease_s", "max_attempts", "lock", "group_shared", "job_timeout_s"):
        assert ProjectSettings.cli_help(name) in out


def test_the_dead_worker_rule_lives_in_store_is_dead() -> None:
    restated = [h for hs in found(dead_worker_rules, "store/storage/_leases.py").values() for h in hs]
    assert restated == [], "use store.is_dead(lease, now), not a heartbeat compared with lease_s:\n" + "\n".join(restated)


def test_the_finished_count_lives_in_store_n_finished() -> None:
    restated = [h for hs in found(finished_counts, "store/storage/_state.py").values() for h in hs]
    assert restated == [], "use store.n_finished(counts) or Status.n_finished:\n" + "\n".join(restated)
    assert n_finished({"done": 1, "error": 2, "failed": 3, "dropped": 4, "running": 5, "pending": 6}) == 10


def test_each_kind_of_check_says_its_word_in_the_store() -> None:
    unnamed = [h for hs in found(checks_without_their_word, "", under="store").values() for h in hs]
    assert unnamed == [], ("name a store check for its kind: check_trust*, check_integrity*, audit_*, validate_*:\n"
                           + "\n".join(unnamed))
    old = [h for hs in found(old_check_names, "store/__init__.py").values() for h in hs]
    assert old == [], "use the new name (trust, integrity, audit, validate):\n" + "\n".join(old)


@pytest.mark.parametrize(
    ("finder", "code"),
    [
        (settings_reads, "x = proj.settings.get('memory_key')"),
        (settings_reads, "x = bool(info.get('settings', {}).get('group_shared'))"),
        (checks_without_their_word, "def check_logs(root): pass"),
        (old_check_names, "from ..store import check_project"),
        (old_check_names, "store.ensure_checked(d)"),
        (settings_reads, "x = self.info['settings'].get('lease_s', 60)"),
        (settings_reads, "x = settings['memory_key']"),
        (settings_reads, "x = setting(queue.settings, 'max_attempts')"),
        (lambda t: restated_cli_settings(t, False), "p.add_argument('--lease-s', type=float, default=60.0)"),
        (lambda t: restated_cli_settings(t, True), "p.add_argument('--max-attempts', help='runs a job may lose')"),
        (dead_worker_rules, "dead = now - float(lease['heartbeat']) > float(lease['lease_s'])"),
        (finished_counts, "finished = c['done'] + c['error'] + c['failed'] + c.get('dropped', 0)"),
    ],
)
def test_each_finder_sees_a_restated_rule(finder: Finder, code: str) -> None:
    assert list(finder(ast.parse(code))) != []


@pytest.mark.parametrize(
    ("finder", "code"),
    [
        (settings_reads, "x = ProjectSettings.of(queue.settings).max_attempts; y = self.info['settings']"),
        (settings_reads, "x = proj.project_settings.memory_key"),
        (lambda t: restated_cli_settings(t, True), "p.add_argument('--lease-s', default=d.lease_s, help=h('lease_s'))"),
        (lambda t: restated_cli_settings(t, True), "p.add_argument('--workers', type=int, default=2, help='n')"),
        (dead_worker_rules, "dead = is_dead(lease, now)"),
        (finished_counts, "n = c['done'] + 1; states = ('done', 'error', 'failed')"),
        (checks_without_their_word, "def check_trust(root): pass\ndef audit_logs(root): pass\ndef validate_x(x): pass"),
        (old_check_names, "from ..store import check_trust, audit_logs"),
    ],
)
def test_each_finder_lets_the_one_rule_be_used(finder: Finder, code: str) -> None:
    assert list(finder(ast.parse(code))) == []
