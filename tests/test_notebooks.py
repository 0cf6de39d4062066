"""Every notebook in nbs/ is a test item: its cells are executed by nbdev's test runner, in a fresh interpreter each
(notebooks set environment variables, start a SparkSession, point MLflow somewhere: none of that may leak into the
next one, and a process that aborts at exit is a failure too).

Cells tagged with a flag from `tst_flags` (spark, slow) run when the flag is in NBDEV_TEST_FLAGS; `make test` sets
"spark slow", so CI runs everything. Job notebooks (nbs/jobs, which holds a .notest file) are tested by running their
jobs through the bundle runner in tests/test_jobs_*.py.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))

RUNNER = """
import sys
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook_cells
fn, force = sys.argv[1], sys.argv[2].split()
skip = get_config().tst_flags.split()
ok, secs = run_notebook_cells(fn, skip_flags=skip, force_flags=force, basepath=str(get_config().config_path), cell_timeout=900)
print(f"{fn}: {'ok' if ok else 'FAILED'} in {secs:.1f}s")
sys.exit(0 if ok else 1)
"""


@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.stem)
def test_notebook(nb):
    flags = os.environ.get("NBDEV_TEST_FLAGS", "spark slow")
    env = {**os.environ}
    env.pop("FIN_MLOPS_LAKEHOUSE", None)  # each notebook makes its own throwaway lakehouse
    r = subprocess.run([sys.executable, "-c", RUNNER, str(nb), flags], cwd=nb.parent, env=env,
                       capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        noise = ("IPKernelApp", "WARN ", "Setting default log level", "To adjust logging level", "Using Spark's default")
        err = "\n".join(l for l in r.stderr.splitlines() if not any(n in l for n in noise))
        pytest.fail(f"{nb.name} failed (exit {r.returncode}):\n{r.stdout[-4000:]}\n{err[-12000:]}", pytrace=False)
