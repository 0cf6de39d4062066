"""The monitoring jobs through the bundle runner (`fin-mlops run`), as the scheduler runs them, on a throwaway lakehouse
with a stand-in champion registered the way the tournament registers one:

- scoring_workflow scores the gold rows into scored_trades and sends one grouped alert (pandas engine here; the
  Spark engine in the `spark` test);
- drift_monitoring on a shifted market: drift detected, retraining claimed, the condition task true, the retraining
  job started (a stub, in a copy of the bundle); a second run inside the cooldown decides not to retrain, says why,
  and the retraining job is skipped.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest

from financial_transactions.monitoring.alert_manager import LocalWebhook

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")
FEATS = ["return_zscore", "rsi", "volume_zscore", "bb_width"]
cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the stand-in model must load in the job's kernel


class MaxAbs(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        s = model_input[FEATS].abs().max(axis=1).to_numpy(dtype=float)
        return pd.DataFrame({"anomaly_score": s, "is_anomaly": s >= 5.0})


def frame(n, start_s, shift=0.0, seed=0, outliers=()):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"trade_id": [f"t{start_s + i}" for i in range(n)], "symbol": "AAPL",
                       "ts": pd.Timestamp("2026-11-23T14:30:00Z") + pd.to_timedelta(start_s + np.arange(n), unit="s"),
                       "price": 100.0 + np.arange(n) * 1e-3, "volume": 1.0, "session_type": "regular",
                       **{f: rng.normal(size=n) + (shift if f in ("rsi", "bb_width", "return_zscore") else 0) for f in FEATS}})
    for i in outliers: df.loc[i, "volume_zscore"] = 9.0 + i / 100     # planted anomalies, far above the stand-in's 5.0
    df["label"] = (df[FEATS].abs().max(axis=1) > 3.5).astype("int64")
    return df


def setup_lakehouse(lake: Path, shift: float, monkeypatch, outliers=()):
    """train_set v0 (the reference), gold (shifted by `shift`, with `outliers` planted), and a champion of env dev
    tagged like the tournament's."""
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(lake))
    from financial_transactions.config import default_config_path, load_config
    from financial_transactions.models.registry import register_model, set_alias
    from financial_transactions.runtime import setup_mlflow, write_table
    cfg = load_config(default_config_path(), env="dev")
    write_table(frame(5_000, 0), cfg.table("train_set"), config=cfg)
    write_table(frame(4_000, 10_000, shift=shift, seed=1, outliers=outliers), cfg.table("gold_features"), config=cfg)
    mlflow.set_experiment(experiment_id=setup_mlflow(cfg))   # setup_mlflow creates the experiment; select it too
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="model", python_model=MaxAbs(), pip_requirements=["mlflow", "pandas"])
    v = register_model(cfg, info.model_uri, {"feature_columns": FEATS, "threshold": 5.0, "train_set_version": 0, "feature_table_version": 0})
    set_alias(cfg, "champion", v)
    return cfg


def fin(*args, lake, cwd=ROOT, hook_url=None):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lake)}
    if hook_url: env["ALERT_WEBHOOK_URL"] = hook_url
    return subprocess.run([FIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)


def task_values(lake, job, task):
    run = sorted((Path(lake) / "runs" / job).iterdir())[-1]
    return json.loads((run / "task_values" / f"{task}.json").read_text())


@pytest.fixture
def hook():
    with LocalWebhook() as h: yield h


def test_scoring_job_scores_incrementally_and_alerts_once(tmp_path, hook, monkeypatch):
    planted = [10, 1_500, 3_900]                       # unplanted rows (seed 1) all score below the threshold
    cfg = setup_lakehouse(tmp_path, shift=0.0, monkeypatch=monkeypatch, outliers=planted)
    from financial_transactions.runtime import read_table
    r = fin("run", "scoring_workflow", "-p", "engine=pandas", lake=tmp_path, hook_url=hook.url("ok"))
    assert r.returncode == 0, r.stdout + r.stderr
    st = read_table(cfg.table("scored_trades"))
    assert len(st) == 4_000 and st.trade_id.is_unique
    assert sorted(st[st.is_anomaly].trade_id) == sorted(f"t{10_000 + i}" for i in planted)
    assert set(st.model_version) == {"1"} and st.feature_table_version.isna().all()   # gold has no job-visible version
    tv = task_values(tmp_path, "scoring_workflow", "score_trades")
    assert tv["n_scored"] == 4_000 and tv["n_anomalies"] == 3, tv
    # one grouped webhook call for the run's three anomalies, not one per trade
    assert len(hook.received) == 1, hook.received
    call = hook.received[0]
    assert call["path"] == "/ok" and "3 of 4000 new trades scored as anomalies" in call["body"]["text"], call
    assert "3 anomalous trades (dev)" in call["body"]["blocks"][0]["text"]["text"], call
    # nothing new: nothing scored, nothing sent
    assert fin("run", "scoring_workflow", "-p", "engine=pandas", lake=tmp_path, hook_url=hook.url("ok")).returncode == 0
    tv2 = task_values(tmp_path, "scoring_workflow", "score_trades")
    assert tv2["n_scored"] == 0 and tv2["n_anomalies"] == 0, tv2
    assert len(read_table(cfg.table("scored_trades"))) == 4_000 and len(hook.received) == 1


def bundle_copy(tmp_path) -> Path:
    """The project's drift_monitoring job beside a stub retraining_workflow that only leaves a mark."""
    # The retraining job is a stub here, so this test stays about the trigger and the run_job_task wiring; the real
    # retraining_workflow runs end to end in tests/test_main_sequence.py.
    proj = tmp_path / "proj"
    (proj / "resources").mkdir(parents=True); (proj / "nbs/jobs").mkdir(parents=True)
    shutil.copy(ROOT / "databricks.yml", proj); shutil.copy(ROOT / "project_config.yml", proj)
    shutil.copy(ROOT / "resources/drift_monitoring.yml", proj / "resources")
    shutil.copy(ROOT / "nbs/jobs/detect_drift.ipynb", proj / "nbs/jobs")
    (proj / "resources/retraining_workflow.yml").write_text(
        "resources:\n  jobs:\n    retraining_workflow:\n      name: retraining-stub\n      tasks:\n"
        "        - task_key: train\n          notebook_task:\n            notebook_path: ../nbs/jobs/stub.ipynb\n"
        "            base_parameters: {env: '${bundle.target}'}\n")
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]}, "execution_count": None, "outputs": [], "source": "env = 'dev'"},
                    {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": "import os, pathlib\np = pathlib.Path(os.environ['FIN_MLOPS_LAKEHOUSE'], 'retrained')\np.write_text(str(int(p.read_text() if p.exists() else 0) + 1))"}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (proj / "nbs/jobs/stub.ipynb").write_text(json.dumps(nb))
    return proj


def test_drift_monitoring_retrains_once_then_holds_in_the_cooldown(tmp_path, hook, monkeypatch):
    lake = tmp_path / "lake"
    cfg = setup_lakehouse(lake, shift=1.0, monkeypatch=monkeypatch)
    proj = bundle_copy(tmp_path)
    r = fin("run", "drift_monitoring", lake=lake, cwd=proj, hook_url=hook.url("ok"))
    assert r.returncode == 0, r.stdout + r.stderr
    tv = task_values(lake, "drift_monitoring", "detect_drift")
    assert tv["retrain"] is True and tv["action"] == "retrain" and tv["verdict"] == "alert", tv
    assert "→ true" in r.stdout, r.stdout                               # the condition task's outcome
    assert (lake / "retrained").read_text() == "1"                     # run_job_task started the retraining job
    titles = [c["body"]["blocks"][0]["text"]["text"] for c in hook.received]
    assert any("Feature drift" in t for t in titles) and any("Retraining started" in t for t in titles), titles

    r2 = fin("run", "drift_monitoring", lake=lake, cwd=proj, hook_url=hook.url("ok"))
    assert r2.returncode == 0, r2.stdout + r2.stderr
    tv2 = task_values(lake, "drift_monitoring", "detect_drift")
    assert tv2["retrain"] is False and tv2["action"] == "cooldown" and "cooldown" in tv2["reason"], tv2
    assert (lake / "retrained").read_text() == "1"                     # not started again
    from financial_transactions.runtime import read_table
    audit = read_table(cfg.table("retraining_audit")).sort_values("ts")
    assert audit.action.tolist() == ["retrain", "cooldown"]
    dm = read_table(cfg.table("drift_monitoring"))
    assert dm.run_id.nunique() == 2 and set(dm.feature) == set(FEATS)
    assert set(dm[dm.verdict == "alert"].feature) == {"rsi", "bb_width", "return_zscore"}


@pytest.mark.spark
def test_scoring_job_on_spark(tmp_path, hook, monkeypatch):
    cfg = setup_lakehouse(tmp_path, shift=0.0, monkeypatch=monkeypatch)
    r = fin("run", "scoring_workflow", lake=tmp_path, hook_url=hook.url("ok"))
    assert r.returncode == 0, r.stdout + r.stderr
    from financial_transactions.runtime import read_table
    st = read_table(cfg.table("scored_trades"))
    assert len(st) == 4_000 and st.trade_id.is_unique
    gold = frame(4_000, 10_000, seed=1).set_index("trade_id").loc[st.trade_id]
    np.testing.assert_allclose(st.anomaly_score.to_numpy(), gold[FEATS].abs().max(axis=1).to_numpy(), rtol=0, atol=1e-12)
