"""The bundle runner end to end through the `fin-mlops` command, as a user runs it: the first job, and a failing job."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


def fin(*args, lakehouse, cwd=ROOT):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lakehouse)}
    return subprocess.run([FIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def test_foundation_smoke_job_writes_and_reads_a_table(tmp_path):
    r = fin("run", "foundation_smoke", lakehouse=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "smoke_test_lakehouse ✓" in r.stdout
    runs = list((tmp_path / "runs/foundation_smoke").iterdir())
    assert len(runs) == 1 and (runs[0] / "smoke_test_lakehouse.ipynb").exists()
    assert json.loads((runs[0] / "task_values/smoke_test_lakehouse.json").read_text())["smoke_table_version"] == 0
    assert (tmp_path / "tables/mlops_dev/financial_transactions/smoke_test/_delta_log").is_dir()
    # a second run appends: version 1, as the second run's task value says
    assert fin("run", "foundation_smoke", lakehouse=tmp_path).returncode == 0
    second = sorted((tmp_path / "runs/foundation_smoke").iterdir())[-1]
    assert json.loads((second / "task_values/smoke_test_lakehouse.json").read_text())["smoke_table_version"] == 1


def test_a_failing_task_stops_the_job_and_names_the_cell(tmp_path):
    # a copy of the project's bundle whose smoke notebook is broken on purpose
    proj = tmp_path / "proj"
    shutil.copytree(ROOT / "resources", proj / "resources")
    shutil.copy(ROOT / "databricks.yml", proj)
    shutil.copy(ROOT / "project_config.yml", proj)
    nb = json.loads((ROOT / "nbs/jobs/smoke_test_lakehouse.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "raise RuntimeError('catalog unreachable')"})
    (proj / "nbs/jobs").mkdir(parents=True)
    (proj / "nbs/jobs/smoke_test_lakehouse.ipynb").write_text(json.dumps(nb))
    r = fin("run", "foundation_smoke", lakehouse=tmp_path / "lh", cwd=proj)
    assert r.returncode == 1
    assert "task 'smoke_test_lakehouse' failed" in r.stderr and "RuntimeError: catalog unreachable" in r.stderr, r.stderr
    kept = list((tmp_path / "lh/runs/foundation_smoke").glob("*/smoke_test_lakehouse.ipynb"))
    assert len(kept) == 1


def test_unknown_job_is_refused(tmp_path):
    r = fin("run", "no_such_job", lakehouse=tmp_path)
    assert r.returncode == 2 and "unknown job(s) ['no_such_job']" in r.stderr
