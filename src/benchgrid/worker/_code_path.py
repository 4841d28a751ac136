"""Finding the user's code the way Python does, on every worker.

``python script.py`` imports modules from the script's folder and
``python -m`` from the current folder. A project records the folders its
runner and, for ML projects, the modules its pickled learners, measures
and splitters refer to came from at creation (``code_path`` in
``project.json``): a script that did ``sys.path.insert(0, "pkg")`` and
uses ``pkg/mylearn.py``'s class, or a src layout not installed, gets
``pkg`` (or ``src``) recorded. Every worker, ``benchgrid try`` and
``benchgrid work`` put them on ``sys.path`` before importing the runner, so
``benchgrid init DIR --runner experiments:simulate`` works from the folder
that holds ``experiments.py``, without PYTHONPATH.

:func:`check_loadable` proves it once at creation: a fresh interpreter
with only the project's code path loads every pickle that refers to the
user's own modules and imports a runner of the user's own; when it cannot,
the project is not created and the error names the learner (or measure,
splitter, runner) and the fix.

The folders are part of the project's trust boundary: a folder that other
users (or the group, unless the project is group-shared) can write is not
put on ``sys.path``, since anyone could drop a module there that a worker
would then run.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from .._errors import InputError
from ..store import ProjectSettings, untrusted_reason

__all__ = [
    "check_loadable", "code_path_at_creation", "import_runner", "runner_import_error", "untrusted_reason", "use_code_path",
    "user_module_folders",
]


def _installed_roots() -> list[Path]:
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(roots)


def _module_root(module_name: str) -> Path | None:
    """The ``sys.path`` folder a module was imported from (None: built in, or installed)."""
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - load_runner reports import errors
        return None
    file = getattr(module, "__file__", None)
    if not file:
        return None
    root = Path(file).resolve().parent
    depth = module_name.count(".") + (1 if Path(file).name == "__init__.py" else 0)
    for _ in range(depth):
        root = root.parent
    if _is_installed(root):
        return None  # the standard library or an installed package: every worker has it
    return root


def _is_installed(folder: Path) -> bool:
    """Inside the Python installation or the virtual environment (stdlib, site-packages, bin)."""
    return any(folder == r or r in folder.parents for r in _installed_roots())


def _user_root(module_name: str) -> Path | None:
    """The folder a user's own module was imported from; None for benchgrid, the standard library, installed packages."""
    if module_name.split(".")[0] == "benchgrid":
        return None
    return _module_root(module_name)


def user_module_folders(modules: Iterable[str]) -> list[str]:
    """The folders the user's own ``modules`` were imported from (not benchgrid's, not installed ones).

    Examples
    --------
    >>> user_module_folders(["os", "benchgrid.ml"])
    []
    """
    out: list[str] = []
    for name in sorted(modules):
        root = _user_root(name)
        if root is not None and str(root) not in out:
            out.append(str(root))
    return out


def code_path_at_creation(
    runner: str | None = None, extra: Iterable[str | os.PathLike[str]] = (), modules: Iterable[str] = ()
) -> list[str]:
    """The folders to record in a new project: as Python would search them here.

    The current folder (``python -m``), the folder of the script being run
    (``python script.py``), the folder the runner's module was imported from
    (when it is not an installed package), ``extra`` (a grid file's
    folder) and the folders the user's own ``modules`` (those pickled
    learners refer to) were imported from, absolute and without repeats.

    Examples
    --------
    >>> code_path_at_creation()[0] == os.getcwd()
    True
    """
    folders: list[Path] = [Path.cwd()]
    main = sys.argv[0] if sys.argv else ""
    run_as_module = getattr(sys.modules.get("__main__"), "__spec__", None) is not None  # python -m: cwd only
    if main.endswith(".py") and Path(main).is_file() and not run_as_module:
        script_dir = Path(main).resolve().parent
        if not _is_installed(script_dir):
            folders.append(script_dir)
    folders.extend(Path(e).resolve() for e in extra)
    names = [runner.split(":")[0]] if runner and ":" in runner else []
    for name in [*names, *sorted(modules)]:
        root = _user_root(name)
        if root is not None:
            folders.append(root)
    out: list[str] = []
    for folder in folders:
        text = str(folder.absolute())
        if text not in out and folder.is_dir():
            out.append(text)
    return out


def use_code_path(info: dict[str, Any]) -> list[str]:
    """Put a project's recorded code folders first on ``sys.path``; return what was skipped.

    ``info`` is the content of ``project.json``. Each skipped folder comes
    back as ``"FOLDER: reason"``, for the error message when an import then
    fails. Folders already on ``sys.path`` are left where they are.
    """
    group_shared = ProjectSettings.of(info.get("settings", {})).group_shared
    skipped: list[str] = []
    folders = [str(f) for f in info.get("code_path") or []]
    for folder in reversed(folders):  # inserting at 0: keep the recorded order
        reason = untrusted_reason(folder, group_shared)
        if reason is not None:
            skipped.append(f"{folder}: {reason}")
        elif folder not in sys.path:
            sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return skipped[::-1]


def runner_import_error(
    spec: str, type_name: str, text: str, *, missing: str | None = None, at: str = "",
    code_path: Iterable[str] = (), skipped: Iterable[str] = (),
) -> InputError:
    """The error for a runner that does not import: the module not found, or found but raising.

    Only a module that is not found gets "create the project from its
    folder"; a module that raised is named with the error and where it
    was raised, and a missing dependency with the package to install.

    Examples
    --------
    >>> err = runner_import_error("rr:run", "RuntimeError", "no config", at="/src/rr.py, line 3")
    >>> str(err).split("; ")
    ["runner 'rr:run': importing module 'rr' raised RuntimeError: no config (/src/rr.py, line 3)", \
'the module was found, its own code failed: fix it (every worker imports it before its first job)']
    >>> err = runner_import_error("rr:run", "ModuleNotFoundError", "No module named 'torch'", missing="torch")
    >>> str(err).split("; ")[1][:70]
    "install 'torch' where the workers run, or, if it is a module of yours,"
    """
    from .._errors import InputError

    module = spec.split(":")[0]
    if type_name == "ModuleNotFoundError" and missing and (module == missing or module.startswith(missing + ".")):
        code_path, skipped = list(code_path), list(skipped)
        where = f"looked in {code_path!r} and the installed packages" if code_path else "looked in the installed packages"
        refused = f"; not searched: {'; '.join(skipped)} (run `chmod go-w` on it)" if skipped else ""
        return InputError(
            f"runner {spec!r} cannot be imported: {type_name}: {text} ({where}{refused}); create the project from the "
            "folder that holds the module, install it (pip install -e .) or add its folder to PYTHONPATH"
        )
    if type_name == "no function":
        return InputError(f"runner {spec!r}: module {module!r} has no function {spec.split(':')[-1]!r}")
    site = f" ({at})" if at else ""
    if type_name == "ModuleNotFoundError" and missing:
        code_path = list(code_path)
        fix = (
            f"install {missing!r} where the workers run, or, if it is a module of yours, pass code_path=[...] with "
            f"its folder (a fresh Python with the project's code path {code_path!r} did not find it)"
        )
    else:
        fix = "the module was found, its own code failed: fix it (every worker imports it before its first job)"
    return InputError(f"runner {spec!r}: importing module {module!r} raised {type_name}: {text}{site}; {fix}")


def import_runner(spec: str, code_path: Iterable[str] = (), skipped: Iterable[str] = ()) -> Any:
    """Import ``"package.module:function"`` here and return the function, or raise :func:`runner_import_error`'s error.

    ``code_path`` and ``skipped`` only make the message of a module not
    found say where it was looked for.

    Examples
    --------
    >>> import_runner("os.path:join")("a", "b")
    'a/b'
    >>> import_runner("os.path:no_such_function")
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: runner 'os.path:no_such_function': module 'os.path' has no function 'no_such_function'
    """
    import traceback

    from .._errors import InputError

    if not isinstance(spec, str) or spec.count(":") != 1:
        raise InputError(f"runner must look like 'package.module:function', got {spec!r}")
    module_name, func_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - any import failure is the user's to fix
        own = [f for f in traceback.extract_tb(err.__traceback__)
               if "importlib" not in f.filename and not f.filename.startswith("<") and f.filename != __file__]
        raise runner_import_error(
            spec, type(err).__name__, str(err), missing=err.name if isinstance(err, ModuleNotFoundError) else None,
            at=f"{own[-1].filename}, line {own[-1].lineno}" if own else "", code_path=code_path, skipped=skipped,
        ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise runner_import_error(spec, "no function", func_name)
    return func


def _user_module_file(module: str) -> bool:
    """True when ``module`` is the user's own (not benchgrid's, not installed), found without importing it."""
    import importlib.util

    if module.split(".")[0] == "benchgrid":
        return False
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None)
    if not origin or origin in ("built-in", "frozen"):
        return False
    return not _is_installed(Path(origin).resolve().parent)


def check_runner_findable(info: dict[str, Any]) -> None:
    """Raise InputError when the project's runner module cannot be found, or (the user's own) does not import.

    Called before starting workers (``benchgrid run``, ``submit``), so a
    missing module, or one whose code raises (changed since the project was
    created), is one clear error, not one per worker. A user's module is
    imported by a fresh Python (its import-time code never runs here);
    benchgrid's and installed ones are only looked up.

    Examples
    --------
    >>> check_runner_findable({"runner": "os.path:join", "code_path": []})
    >>> check_runner_findable({"runner": "no_such_module_xyz:f", "code_path": []})
    Traceback (most recent call last):
    ...
    benchgrid._errors.InputError: runner 'no_such_module_xyz:f' cannot be imported: ...
    """
    import importlib.util

    from .._errors import InputError

    runner = str(info.get("runner", ""))
    module = runner.split(":")[0]
    skipped = use_code_path(info)
    try:
        found = importlib.util.find_spec(module) is not None
        error = f"ModuleNotFoundError: No module named {module!r}"
    except (ImportError, ValueError) as err:  # a parent package is missing or broken
        found, error = False, f"{err.__class__.__name__}: {err}"
    if not found:
        code_path = info.get("code_path") or []
        where = f"looked in {list(code_path)!r} and the installed packages" if code_path else "looked in the installed packages"
        refused = f"; not searched: {'; '.join(skipped)} (run `chmod go-w` on it)" if skipped else ""
        raise InputError(
            f"runner {runner!r} cannot be imported: {error} ({where}{refused}); create the project from the "
            "folder that holds the module, install it (pip install -e .) or add its folder to PYTHONPATH"
        )
    if ":" in runner and _user_module_file(module):
        check_loadable(info, {}, runner, users_runner=True)


# Run by a fresh interpreter (``python -c``): nothing of benchgrid, only what a worker's
# sys.path gives. Its answer is the last line of stdout (a user's module may print).
_LOADER = r"""
import importlib, json, pickle, sys
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]  # python -c puts the current folder first; a worker's is elsewhere
job = pickle.load(sys.stdin.buffer)
for folder in reversed(job["folders"]):
    if folder not in sys.path:
        sys.path.insert(0, folder)
failed = {}
for label, data in job["items"].items():
    try:
        pickle.loads(data)
    except BaseException as err:
        failed[label] = f"{type(err).__name__}: {err}"
runner = None
if job["runner"]:
    module, _, name = job["runner"].partition(":")
    try:
        if not callable(getattr(importlib.import_module(module), name, None)):
            runner = {"type": "no function", "text": name}
    except BaseException as err:
        import traceback
        own = [f for f in traceback.extract_tb(err.__traceback__) if "importlib" not in f.filename
               and not f.filename.startswith("<")]
        runner = {"type": type(err).__name__, "text": str(err), "missing": getattr(err, "name", None)
                  if isinstance(err, ModuleNotFoundError) else None,
                  "at": f"{own[-1].filename}, line {own[-1].lineno}" if own else ""}
    if runner is not None:
        failed["runner " + repr(job["runner"])] = f"{runner['type']}: {runner['text']}"
sys.stdout.write("\n" + json.dumps({"failed": failed, "runner": runner}) + "\n")
"""
LOADABLE_TIMEOUT_S = 600.0


def check_loadable(
    info: dict[str, Any], items: Mapping[str, tuple[bytes, Iterable[str]]], runner: str | None = None,
    *, users_runner: bool | None = None,
) -> None:
    """Raise InputError unless a fresh interpreter with the project's code path loads what workers will load.

    ``info`` holds ``code_path`` and ``settings`` (as ``project.json``);
    ``items`` maps a label (``"learner 'mine'"``) to a pickle and the
    modules it refers to (:func:`benchgrid.ml._inputs.dumps_with_modules`);
    ``runner`` is checked by importing it (``users_runner=True``: it is the
    user's own, known without importing it here). Only what refers to the user's
    own modules is checked (benchgrid, the standard library and installed
    packages load anywhere this environment does), so most projects start
    no process; one that does pays for one interpreter and the user's
    imports, once, before anything is written.

    Examples
    --------
    >>> import pickle
    >>> check_loadable({"code_path": []}, {"a dict": (pickle.dumps({}), ["builtins"])}, "os.path:join")
    """
    import json
    import pickle
    import subprocess

    from .._errors import InputError

    users = {label: sorted(m for m in mods if _user_root(m) is not None) for label, (_d, mods) in items.items()}
    todo = {label: items[label][0] for label, mods in users.items() if mods}
    runner_module = runner.split(":")[0] if runner and ":" in runner else None
    check_runner = runner_module is not None and (
        users_runner if users_runner is not None else _user_root(runner_module) is not None
    )
    if not todo and not check_runner:
        return
    code_path = [str(f) for f in info.get("code_path") or []]
    group_shared = ProjectSettings.of(info.get("settings", {})).group_shared
    reasons = {f: untrusted_reason(f, group_shared) for f in code_path}
    folders = [f for f in code_path if reasons[f] is None]
    job = {"folders": folders, "items": todo, "runner": runner if check_runner else None}
    runner_failure: dict[str, Any] | None = None
    try:
        done = subprocess.run(
            [sys.executable, "-c", _LOADER], input=pickle.dumps(job), capture_output=True,
            timeout=LOADABLE_TIMEOUT_S, env=os.environ.copy(),
        )
        answer = json.loads(done.stdout.decode(errors="replace").rstrip("\n").rsplit("\n", 1)[-1])
        failed, runner_failure = answer["failed"], answer["runner"]
    except subprocess.TimeoutExpired:
        failed = {next(iter(todo), f"runner {runner!r}"): f"loading took more than {LOADABLE_TIMEOUT_S:.0f} s"}
    except (ValueError, IndexError, KeyError, TypeError):  # it died before answering (a crash at import)
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        failed = {next(iter(todo), f"runner {runner!r}"): f"a fresh Python died loading it: {tail[0]}"}
    if not failed:
        return
    refused = [f"{f}: {r}" for f, r in reasons.items() if r is not None]
    if runner_failure is not None and runner is not None:  # the runner first: it is what every job needs
        raise runner_import_error(
            runner, runner_failure["type"], runner_failure["text"], missing=runner_failure.get("missing"),
            at=runner_failure.get("at", ""), code_path=code_path, skipped=refused,
        )
    label, error = next(iter(failed.items()))
    mods = users.get(label) or ([runner_module] if runner_module else [])
    where = ", ".join(f"{m!r} (from {_user_root(m)})" for m in mods)
    not_searched = f"; not searched: {'; '.join(refused)} (run `chmod go-w` on it)" if refused else ""
    more = f" ({len(failed) - 1} more: {', '.join(list(failed)[1:4])})" if len(failed) > 1 else ""
    raise InputError(
        f"{label} cannot be loaded by a worker: {error}{more}; a fresh Python with the project's code path "
        f"{code_path!r}{not_searched} did not find what it uses: {where}; install its package (pip install -e .), "
        "pass code_path=[...] with the module's folder, or define the class in the script itself (stored by value)"
    )
