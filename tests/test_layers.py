"""The layers of DESIGN.md, kept: no import points upward, and no import cycle.

Every ``import`` in ``src/benchgrid`` counts (``from ..ml import _grid`` as an import of
``benchgrid.ml._grid``), at module level or inside a
function, under ``TYPE_CHECKING`` too: a lazy import is a dependency all the
same. Read with :mod:`ast`, so nothing is imported to check.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "benchgrid"

#: Lowest first. A package may import the ones before it, never the ones after it.
#: Root modules (``_errors``, ``_format``) sit below all; ``benchgrid/__init__``
#: and ``__main__`` are the facade above all (they name the layers lazily), which
#: only ``cli`` may import.
LAYERS = ["store", "worker", "ml", "backends", "api", "plots", "report", "cli"]
FACADE = {"benchgrid", "benchgrid.__main__"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports() -> dict[str, set[tuple[str, int]]]:
    """module -> {(imported benchgrid module, line)}."""
    found: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    targets = [".".join(base + ([node.module] if node.module else []))]
                else:
                    targets = [node.module or ""]
                # `from ..ml import _grid` imports a private module (or name) of another package, as
                # `from ..ml._grid import x` does: it counts as an import of benchgrid.ml._grid
                if targets[0].split(".")[1:2] != module.split(".")[1:2]:
                    targets += [f"{targets[0]}.{alias.name}" for alias in node.names
                                if alias.name.startswith("_") and not alias.name.startswith("__")]
            else:
                continue
            for target in targets:
                if target == "benchgrid" or target.startswith("benchgrid."):
                    found[module].add((target, node.lineno))
    return found


def layer(module: str) -> int | None:
    """Rank of the module's package (-1: root modules below all; None: the facade)."""
    if module in FACADE:
        return None
    part = module.split(".")[1]
    return LAYERS.index(part) if part in LAYERS else -1


def test_the_layers_are_the_packages() -> None:
    packages = {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(LAYERS), "a new package must be placed in LAYERS (and DESIGN.md)"


def test_no_import_points_upward() -> None:
    upward = []
    for module, targets in imports().items():
        for target, line in targets:
            mine, theirs = layer(module), layer(target)
            if mine is None or theirs is None:
                # the facade lazily names every layer: only the top layer (cli) may use it
                if theirs is None and mine is not None and LAYERS[mine] != "cli":
                    upward.append(f"{module}:{line} imports the facade {target}")
                continue
            if theirs > mine:
                upward.append(f"{module}:{line} ({LAYERS[mine] if mine >= 0 else 'root'}) imports {target} "
                              f"({LAYERS[theirs]})")
    assert upward == [], "imports against the layers (cli > report > plots > api > backends > ml > worker > store):\n" + "\n".join(sorted(upward))


def test_cli_reaches_backends_only_through_the_api() -> None:
    direct = sorted(
        f"{module}:{line} imports {target}"
        for module, targets in imports().items() if module.startswith("benchgrid.cli")
        for target, line in targets if target.startswith("benchgrid.backends")
    )
    assert direct == [], "the CLI must call the API (Project.submit/cancel/...), not a backend:\n" + "\n".join(direct)


def test_other_packages_are_reached_by_their_public_names() -> None:
    """``from ..store import Queue``, never ``from ..store.storage._queue import Queue``: a package's
    modules are its own business; what others use is what its ``__init__`` exports."""
    private = sorted(
        f"{module}:{line} imports {target}"
        for module, targets in imports().items()
        for target, line in targets
        if target.split(".")[1:2] != module.split(".")[1:2]  # another package (or a root module)
        and any(part.startswith("_") and part != "__init__" for part in target.split(".")[2:])
        and not target.split(".")[1].startswith("_")
    )
    assert private == [], "imports of another package's private module:\n" + "\n".join(private)


def test_no_import_cycle() -> None:
    # (a package's __init__ that re-exports its modules is not a cycle: Python runs it first)
    graph = {m: {t for t, _ in ts} for m, ts in imports().items()}
    cycles = _cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected


def test_upward_check_sees_lazy_imports(tmp_path: Path) -> None:
    # the same reading on a tiny fake tree: a function-level import upward is caught
    fake = tmp_path / "benchgrid"
    for pkg in LAYERS:
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "ml" / "_x.py").write_text("def f():\n    from ..plots import _y\n")
    real = globals()["SRC"]
    globals()["SRC"] = fake
    try:
        with pytest.raises(AssertionError, match=r"benchgrid\.ml\._x:2 \(ml\) imports benchgrid\.plots \(plots\)"):
            test_no_import_points_upward()
    finally:
        globals()["SRC"] = real


@pytest.mark.parametrize("line", ["from ..ml import _grid", "from ..ml._grid import make_jobs",
                                  "from benchgrid.ml import _runner as r", "import benchgrid.ml._grid"])
def test_private_check_sees_every_form(tmp_path: Path, line: str) -> None:
    # `from ..pkg import _private` reaches into another package as `from ..pkg._private import x` does
    fake = tmp_path / "benchgrid"
    for pkg in LAYERS:
        (fake / pkg).mkdir(parents=True)
        (fake / pkg / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "api" / "_x.py").write_text(f"def f():\n    {line}\n    from .. import _errors\n    from . import _y\n")
    real = globals()["SRC"]
    globals()["SRC"] = fake
    try:
        with pytest.raises(AssertionError, match=r"benchgrid\.api\._x:2 imports benchgrid\.ml\._(grid|runner)\n") as err:
            test_other_packages_are_reached_by_their_public_names()
        assert "_errors" not in str(err.value) and "_y" not in str(err.value)  # root modules, own package: fine
    finally:
        globals()["SRC"] = real


#: What the CLI may take from store and worker without the API (docs/design-notes.md, "Where a rule lives"):
#: `benchgrid work` is the worker's own entry point (every backend launches it; going through the API would load
#: the API into every worker), and pure helpers: the one atomic writer for the CLI's output files, the one
#: validation rule of a time limit, the settings type (init's defaults and help), the status text, the
#: project's group name, and the view rules the live watch shows (is_dead, Status).
CLI_MAY_IMPORT = {
    "benchgrid.worker": {"benchgrid.cli._cmd_work": {"HandbackSignals", "Worker"}},
    "benchgrid.store": {"*": {"atomic_path", "write_atomic", "validate_job_timeout_s", "ProjectSettings",
                              "GroupWarning", "group_name", "status_lines", "Status", "is_dead"}},
}


def cli_core_imports(root: Path | None = None) -> set[tuple[str, str, str]]:
    """(cli module, benchgrid.store or benchgrid.worker, name) for every name the CLI imports from them."""
    out = set()
    base = root or SRC
    for path in sorted((base / "cli").rglob("*.py")):
        module = "benchgrid.cli." + path.stem if path.stem != "__init__" else "benchgrid.cli"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module in ("store", "worker"):
                out |= {(module, f"benchgrid.{node.module}", a.name) for a in node.names}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                out |= {(module, n, "*") for n in names if n.startswith(("benchgrid.store", "benchgrid.worker"))}
    return out


def test_cli_reaches_store_and_worker_through_the_api() -> None:
    found = cli_core_imports()
    allowed = {(m, pkg, n) for m, pkg, n in found
               if n in CLI_MAY_IMPORT[pkg].get(m, set()) | CLI_MAY_IMPORT[pkg].get("*", set())}
    direct = sorted(f"{m} imports {n} from {pkg}" for m, pkg, n in found - allowed)
    assert direct == [], ("the CLI calls the API (benchgrid.api), not store or worker; add what it needs to the "
                          "API, or document a pure helper in CLI_MAY_IMPORT and design-notes:\n" + "\n".join(direct))
    unused = sorted(f"{pkg}: {n}" for pkg, by_module in CLI_MAY_IMPORT.items() for names in by_module.values()
                    for n in names if not any(p == pkg and name == n for _, p, name in found))
    assert unused == [], "an exception no CLI module uses any more: remove it from CLI_MAY_IMPORT:\n" + "\n".join(unused)


def test_cli_core_imports_sees_a_worker_import(tmp_path: Path) -> None:
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "_cmd_x.py").write_text("def run():\n    from ..worker import use_code_path\n")
    assert cli_core_imports(tmp_path) == {("benchgrid.cli._cmd_x", "benchgrid.worker", "use_code_path")}


def test_the_stores_storage_never_imports_its_views() -> None:
    """store/storage/ (what is on disk) is below store/views/ (status, memory view, audit): views read storage."""
    upward = sorted(
        f"{module}:{line} imports {target}"
        for module, targets in imports().items() if module.startswith("benchgrid.store.storage")
        for target, line in targets if target.startswith("benchgrid.store.views") or target == "benchgrid.store"
    )
    assert upward == [], "store/storage imports a view (or the store's __init__):\n" + "\n".join(upward)
    rooms = {p.name for p in (SRC / "store").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == {"storage", "views"}
    assert sorted(p.name for p in (SRC / "store").glob("*.py")) == ["__init__.py"], "a store module belongs in a room"
