"""The delivery jobs through the local bundle runner (`fin-mlops run`): deploy_serving's local smoke test through the
gateway, then dashboard_export, which then shows that serving traffic."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


def fin(*args, lakehouse):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lakehouse)}
    return subprocess.run([FIN, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_deploy_serving_then_dashboard_export(tmp_path):
    # an empty lakehouse: the export job still succeeds, every section empty with its reason
    r = fin("run", "dashboard_export", lakehouse=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    meta = json.loads((tmp_path / "dashboard/dev/meta.json").read_text())
    assert len(meta["sections"]) == 9 and not any(v["available"] for v in meta["sections"].values())
    assert meta["sections"]["serving"]["note"] == "table mlops_dev.financial_transactions.inference_log does not exist yet"
    # a registry (champion v1, latest-model v2) and a holdout, then the serving job's local smoke test with a canary
    code = f"""
import os; os.environ["FIN_MLOPS_LAKEHOUSE"] = {str(tmp_path)!r}
import numpy as np, pandas as pd
from financial_transactions.runtime import load_project_config, write_table
from financial_transactions.serving.gateway import register_threshold_model
cfg = load_project_config("dev")
register_threshold_model(cfg, [1.0, 0.0], aliases=("champion", "latest-model")); register_threshold_model(cfg, [0.0, 1.0])
rng = np.random.default_rng(0)
write_table(pd.DataFrame({{"f0": rng.normal(size=300), "f1": rng.normal(size=300), "label": rng.integers(0, 2, 300)}}), cfg.table("test_set"))
"""
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300).returncode == 0
    r = fin("run", "deploy_serving", lakehouse=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir = next((tmp_path / "runs/deploy_serving").iterdir())
    split = json.loads((run_dir / "task_values/deploy_serving.json").read_text())["split"]
    assert split == {"canary_percent": 10.0, "champion": "1", "challenger": "2"}, split
    r = fin("run", "dashboard_export", lakehouse=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    serving = json.loads((tmp_path / "dashboard/dev/serving.json").read_text())
    assert serving["available"] and serving["total"] == 300 and serving["by_status"] == {"200": 300}
    assert 0.05 <= serving["challenger_share"] <= 0.15, serving["challenger_share"]
