"""Run a Markdown file's blocks in order (called by test_docs_blocks.py in a fresh process).

Usage: python docs_driver.py BLOCKS.json WORKDIR
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path


def main() -> int:
    blocks = json.loads(Path(sys.argv[1]).read_text())
    work = Path(sys.argv[2])
    namespace: dict[str, object] = {}
    page = None
    sys.path[0] = ""  # as in an interactive python: modules of the current folder import
    for b in blocks:
        if b["where"].rsplit(":", 1)[0] != page:  # the next page: a new script, the same folder
            page = b["where"].rsplit(":", 1)[0]
            namespace = {"__name__": "__docs__"}
        cwd = (work / b["cwd"]).resolve()
        os.chdir(cwd)
        print(f"=== {b['where']} ({b['lang'] or 'shell'}, in {cwd})", flush=True)
        if b["lang"] in ("python", "py"):
            for setup in b["setup"]:
                exec(compile(setup, f"{b['where']} (setup)", "exec"), namespace)
            try:
                exec(compile(b["code"], b["where"], "exec"), namespace)
            except SystemExit as err:
                if err.code not in (0, None):
                    print(f"FAILED {b['where']}: SystemExit({err.code!r})", flush=True)
                    return 1
            except BaseException:
                traceback.print_exc()
                print(f"FAILED {b['where']}", flush=True)
                return 1
            finally:
                import matplotlib.pyplot as plt

                plt.close("all")
        else:
            r = subprocess.run(["bash", "-euo", "pipefail", "-c", b["code"]], cwd=cwd)
            if r.returncode != 0:
                print(f"FAILED {b['where']}: exit code {r.returncode}", flush=True)
                return 1
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
