"""What the ML layer stores under ``<project>/inputs/`` and how workers read it.

::

    inputs/ml.json                          measures, save flags (text)
    inputs/ml_objects.pkl                   callable measures and the cv (pickled)
    inputs/tasks/<task_id>.<task_key>.parquet  the task's columns
    inputs/tasks/<task_id>.<task_key>.json     target, features, roles, type
    inputs/splits/<task_id>.<task_key>.<resampling_id>.npz  every split's indices + metadata
    inputs/learners/<learner_id>.<learner_key>.pkl  the unfitted estimator

Learners, callable measures and the cv are stored with :mod:`cloudpickle`:
classes and functions of importable modules by reference (as pickle does),
those defined in the user's script (``__main__``) by value, so that
``python experiment.py`` with a transformer or a scoring function defined in
it works in workers, whose ``__main__`` is benchgrid's.

Files are named by content key, so extending a project (``proj.add``) only
adds files and never changes one a running worker may be reading. Every
write goes through the store's one atomic writer (a temp file and a rename).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from .._errors import InputError
from ..store import make_dir, open_file, write_atomic
from ._task import Task

__all__ = [
    "write_config", "read_config", "write_task", "read_task", "write_learner",
    "read_learner", "splits_path", "write_bytes_atomic", "dumps", "dumps_with_modules",
]  # fmt: skip


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a project file) in one step, making its folder if needed."""
    make_dir(path.parent, parents=True)
    write_atomic(path, data)


def dumps(obj: Any) -> bytes:
    """Pickle ``obj``; what ``__main__`` defines goes by value (cloudpickle).

    Examples
    --------
    >>> import pickle
    >>> pickle.loads(dumps({"a": 1}))
    {'a': 1}
    """
    import cloudpickle

    return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[no-any-return]


def dumps_with_modules(obj: Any) -> tuple[bytes, set[str]]:
    """:func:`dumps` and the modules the pickle refers to: what a worker imports to load it.

    Every class, function and module pickled by reference names its module;
    ``__main__``'s are pickled by value and not listed. The project records
    the folders of the user's own modules among them and checks, once, that a
    fresh interpreter loads the pickle (see :func:`benchgrid.worker.check_loadable`).

    Examples
    --------
    >>> from collections import OrderedDict
    >>> data, modules = dumps_with_modules(OrderedDict(a=1))
    >>> "collections" in modules
    True
    """
    import io
    import types

    import cloudpickle

    modules: set[str] = set()

    class Recorder(cloudpickle.Pickler):  # type: ignore[misc]
        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, types.ModuleType):
                modules.add(obj.__name__)
            elif isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
                name = getattr(obj, "__module__", None)
                if isinstance(name, str):
                    modules.add(name)
            return super().reducer_override(obj)

    buf = io.BytesIO()
    Recorder(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    modules.discard("__main__")
    return buf.getvalue(), modules


def _load_hint(inputs: Path, what: str, err: BaseException) -> InputError:
    """The error a worker records when a stored object's module cannot be imported: what, why, and the fix."""
    try:
        code_path = json.loads((inputs.parent / "project.json").read_text()).get("code_path") or []
    except (OSError, ValueError):
        code_path = []
    return InputError(
        f"{what} cannot be loaded: {type(err).__name__}: {err} (workers import it from the installed packages "
        f"and the project's code path {list(code_path)!r}); install the module's package (pip install -e .) or "
        "put its folder in the code path (create the project from a script that imports it, or code_path=[...])"
    )


def write_config(inputs: Path, config: dict[str, Any], objects: dict[str, Any]) -> None:
    write_bytes_atomic(inputs / "ml.json", json.dumps(config, indent=1).encode())
    write_bytes_atomic(inputs / "ml_objects.pkl", dumps(objects))


def read_config(inputs: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Config and pickled objects. Call ``benchgrid.store.check_trust`` before this."""
    config = json.loads((inputs / "ml.json").read_text())
    with open_file(inputs / "ml_objects.pkl", "rb") as fh:
        try:
            objects = pickle.load(fh)
        except (ImportError, AttributeError) as err:  # a module (or a class of it) the project cannot find
            raise _load_hint(inputs, "the project's measures and cv (inputs/ml_objects.pkl)", err) from None
    return config, objects


def _task_file(inputs: Path, task_id: str, task_key: str, ext: str) -> Path:
    # not Path.with_suffix: ids may contain dots, and the key is one
    return inputs / "tasks" / f"{task_id}.{task_key}{ext}"


def splits_path(inputs: Path, task_id: str, task_key: str, resampling_id: Any = None) -> Path:
    """Splits of one task under one resampling (None: projects of format 1)."""
    if resampling_id is None:
        return inputs / "splits" / f"{task_id}.{task_key}.npz"
    return inputs / "splits" / f"{task_id}.{task_key}.{resampling_id}.npz"


def write_task(inputs: Path, task_id: str, task: Task) -> None:
    import io

    buf = io.BytesIO()
    try:
        task.data.to_parquet(buf, index=False)
    except Exception as err:  # pyarrow: mixed types in an object column, ...
        raise InputError(
            f"task {task_id!r} must have columns Parquet can store, got "
            f"{type(err).__name__}: {err}; give each column one type, e.g. "
            "df[col] = df[col].astype(str)"
        ) from None
    write_bytes_atomic(_task_file(inputs, task_id, task.key, ".parquet"), buf.getvalue())
    info = {**task.describe(), "from_arrays": task.from_arrays}
    write_bytes_atomic(
        _task_file(inputs, task_id, task.key, ".json"), json.dumps(info, indent=1).encode()
    )


def read_task(inputs: Path, task_id: str, task_key: str) -> Task:
    import pandas as pd

    info = json.loads(_task_file(inputs, task_id, task_key, ".json").read_text())
    data = pd.read_parquet(_task_file(inputs, task_id, task_key, ".parquet"))
    return Task._restore(data, info, task_id, task_key)


def write_learner(inputs: Path, learner_id: str, key: str, est: Any) -> None:
    path = inputs / "learners" / f"{learner_id}.{key}.pkl"
    write_bytes_atomic(path, dumps(est))


def read_learner(inputs: Path, learner_id: str, key: str) -> Any:
    """The unfitted estimator. Call ``benchgrid.store.check_trust`` before this."""
    with open_file(inputs / "learners" / f"{learner_id}.{key}.pkl", "rb") as fh:
        try:
            return pickle.load(fh)
        except (ImportError, AttributeError) as err:  # a module (or a class of it) the project cannot find
            raise _load_hint(inputs, f"learner {learner_id!r}", err) from None
