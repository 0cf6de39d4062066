"""The ingestion job's collection tasks as a user runs them: `fin-mlops run ingestion_workflow` with no keys set
starts the local feed server and the local Alpha Vantage server, and lands simulated trades, bars and the anomaly
ground truth. The job also holds the pipeline tasks that follow (tested with the pipeline); this test runs a copy of
the bundle whose ingestion job has only the two collection tasks, so it needs no Spark."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from financial_transactions.streaming.collector import read_landed

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


COLLECT_TASKS = ("collect_finnhub_stream", "collect_alphavantage_history")


def collection_only_project(dest: Path) -> Path:
    "A copy of the bundle whose only job is ingestion_workflow's collection tasks."
    (dest / "resources").mkdir(parents=True); (dest / "nbs/jobs").mkdir(parents=True)
    shutil.copy(ROOT / "databricks.yml", dest); shutil.copy(ROOT / "project_config.yml", dest)
    wf = yaml.safe_load((ROOT / "resources/ingestion_workflow.yml").read_text())
    job = wf["resources"]["jobs"]["ingestion_workflow"]
    job["tasks"] = [t for t in job["tasks"] if t["task_key"] in COLLECT_TASKS]
    assert [t["task_key"] for t in job["tasks"]] == list(COLLECT_TASKS)
    (dest / "resources/ingestion_workflow.yml").write_text(yaml.safe_dump(wf))
    for t in COLLECT_TASKS: shutil.copy(ROOT / f"nbs/jobs/{t}.ipynb", dest / "nbs/jobs")
    return dest


def test_ingestion_workflow_lands_simulated_market_data(tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if k not in ("FINNHUB_API_KEY", "ALPHAVANTAGE_API_KEY")}
    env["FIN_MLOPS_LAKEHOUSE"] = str(tmp_path)
    proj = collection_only_project(tmp_path / "proj")
    r = subprocess.run([FIN, "run", "ingestion_workflow"], cwd=proj, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "collect_finnhub_stream ✓" in r.stdout and "collect_alphavantage_history ✓" in r.stdout
    run = next((tmp_path / "runs/ingestion_workflow").iterdir())
    tv = json.loads((run / "task_values/collect_finnhub_stream.json").read_text())
    assert tv["finnhub_mode"] == "simulator" and tv["finnhub_landed"] >= 20_000
    landing = tmp_path / "volumes/mlops_dev/financial_transactions/landing"
    trades = read_landed(landing / "finnhub")
    assert len(trades) == tv["finnhub_landed"] and trades["s"].nunique() >= 4
    assert set(trades.columns) == {"s", "p", "t", "v", "c", "run_id", "received_ms", "_file"}
    truth = read_landed(landing / "simulator_truth", prefix="anomalies-")
    assert len(truth) > 0 and set(truth["kind"]) >= {"price_spike", "fat_finger", "volume_burst", "stale_print", "trade_burst"}
    bars = read_landed(landing / "alphavantage", prefix="bars-")
    assert len(bars) > 0 and set(bars["interval"]) == {"5min", "daily"}
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(tmp_path))
    from financial_transactions.runtime import load_project_config, read_table
    runs = read_table(load_project_config("dev").table("collector_runs"))
    assert sorted(runs["source"]) == ["alphavantage", "finnhub"]
