import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# worker processes import the test runners by name
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def proj_dir(tmp_path: Path) -> Path:
    """A project path with a space and a quote in it, as users' paths have."""
    d = tmp_path / "my proj's dir"
    d.mkdir()
    return d / "proj"


# -- two views of one shared folder (tests/_two_clients.py) ----------------------------
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True


@pytest.fixture(params=["local", "two_clients"])
def fs_pair(request, tmp_path):
    """One fresh folder seen by two clients: the same local folder, or the two mounts of the bed.

    A failed test's folder on the bed is kept (its name is in the test's
    output) for a look at the logs; a passed test's is removed.
    """
    from tests._two_clients import make_pair, remove_pair

    pair = make_pair(request.param, tmp_path, request.node.name.split("[")[0].removeprefix("test_"))
    print(f"fs_pair[{pair.kind}]: a={str(pair.a)!r} b={str(pair.b)!r} backing={str(pair.backing)!r}")
    yield pair
    if not request.node.stash.get(_FAILED, False):
        remove_pair(pair)


@pytest.fixture
def two_clients(request, tmp_path):
    """Like ``fs_pair``, on the two-client bed only (tests of the bed itself)."""
    from tests._two_clients import make_pair, remove_pair

    pair = make_pair("two_clients", tmp_path, request.node.name.split("[")[0].removeprefix("test_"))
    yield pair
    if not request.node.stash.get(_FAILED, False):
        remove_pair(pair)
