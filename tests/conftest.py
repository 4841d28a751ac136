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
