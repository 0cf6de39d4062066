"""`fin-mlops run` with no job, as `make run` runs it on a fresh lakehouse: the whole story, checked table by table.

Two days of trades stream from the local feed server into the landing zone, flow through bronze/silver/gold into training sets, a
tournament's winner becomes the champion through the gate, trades are scored and served through the canary gateway,
the market shifts, drift is detected and a retraining started on fresh training sets, the market moves further and a
second check inside the cooldown refuses to retrain with the reason, and the dashboard's JSON tells all of it. This is the slowest test (several minutes): it is the
README's promise.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    lake = tmp_path_factory.mktemp("lakehouse")
    env = {k: v for k, v in os.environ.items() if k not in ("FINNHUB_API_KEY", "ALPHAVANTAGE_API_KEY", "ALERT_WEBHOOK_URL")}
    env["FIN_MLOPS_LAKEHOUSE"] = str(lake)
    r = subprocess.run([FIN, "run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    assert r.returncode == 0, f"fin-mlops run failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    os.environ["FIN_MLOPS_LAKEHOUSE"] = str(lake)
    from financial_transactions.runtime import load_project_config
    yield lake, load_project_config("dev"), r.stdout
    os.environ.pop("FIN_MLOPS_LAKEHOUSE", None)


def test_every_job_of_the_main_sequence_ran(story):
    lake, cfg, out = story
    for job in cfg.local.main_sequence:
        assert f"✓ job {job} succeeded" in out, job
    assert len(list((lake / "runs/drift_monitoring").iterdir())) == 2


def test_the_pipeline_updates_ran_in_one_warm_process(story):
    "The dev target is in development mode: its three pipeline updates share one process (one JVM warm-up, not three)."
    import re
    lake, _, _ = story
    logs = [next((lake / "runs" / job).glob("*/run_pipeline.log")).read_text()
            for job in ("ingestion_workflow", "market_shift_scenario", "market_shift_continues")]
    seen = [re.search(r"update (\d+) of the warm pipeline process (\d+)", log) for log in logs]
    assert all(seen), [log[:300] for log in logs]
    assert [int(m.group(1)) for m in seen] == [1, 2, 3] and len({m.group(2) for m in seen}) == 1, [m.group(0) for m in seen]


def test_trades_flow_through_the_medallion(story):
    lake, cfg, _ = story
    from financial_transactions.runtime import read_arrow
    counts = {k: read_arrow(cfg.table(k), columns=["s" if k == "bronze_trades" else "symbol"]).num_rows  # bronze keeps raw names
              for k in ("bronze_trades", "silver_trades", "gold_features", "train_set", "test_set")}
    from financial_transactions.features.feature_engineering import lookahead
    per = read_arrow(cfg.table("silver_trades"), columns=["symbol"]).column("symbol").value_counts().to_pylist()
    awaiting = sum(min(d["counts"], lookahead(cfg.features)) for d in per)   # each symbol's last prints wait for their next
    assert counts["silver_trades"] >= 100_000 and counts["gold_features"] == counts["silver_trades"] - awaiting, counts
    assert counts["bronze_trades"] >= counts["silver_trades"], counts
    assert counts["train_set"] > counts["test_set"] > 1_000, counts
    from financial_transactions.runtime import read_table
    first = read_table(cfg.table("train_set"), version=0, columns=["ts"])["ts"].dt.date    # what the first tournament fit on
    assert first.nunique() == 2 and first.min() < pd.Timestamp(cfg.simulator.start).date(), first.value_counts()  # market_history's day too


def test_a_champion_was_promoted_and_scores_were_written(story):
    lake, cfg, _ = story
    from financial_transactions.models.registry import get_aliases
    from financial_transactions.runtime import read_table, setup_mlflow
    setup_mlflow(cfg)
    aliases = get_aliases(cfg)
    assert "champion" in aliases and "latest-model" in aliases, aliases
    audit = read_table(cfg.table("champion_challenger_audit"))
    assert "PROMOTE" in set(audit["decision"]), audit[["decision", "reason"]]
    scored = read_table(cfg.table("scored_trades"), columns=["ts", "model_version", "is_anomaly"])
    assert scored["ts"].dt.date.nunique() == 4           # the earlier day, the first day and both shifted days were scored
    assert 0 < scored["is_anomaly"].mean() < 0.05
    assert read_table(cfg.table("inference_log")).shape[0] > 0    # the canary gateway logged its requests


def test_drift_started_one_retraining_and_the_cooldown_held(story):
    lake, cfg, _ = story
    from financial_transactions.runtime import read_table
    audit = read_table(cfg.table("retraining_audit")).sort_values("ts")
    decisions = [a for a in audit["action"] if a in ("retrain", "cooldown", "no_signal", "daily_limit", "fail_closed")]
    assert decisions == ["retrain", "cooldown"], audit[["action", "reason"]]
    assert "cooldown" in audit[audit.action == "cooldown"]["reason"].iloc[0]
    drift = read_table(cfg.table("drift_monitoring"))
    assert (drift["verdict"] == "alert").any()
    assert (lake / "runs/drift_monitoring").exists()
    assert any((lake / "runs/drift_monitoring").glob("*/child_runs/retraining_workflow/*/train_tournament.ipynb"))


def test_the_dashboard_tells_the_story(story):
    lake, cfg, _ = story
    out = lake / "dashboard" / cfg.env
    meta = json.loads((out / "meta.json").read_text())
    missing = {k: v["note"] for k, v in meta["sections"].items() if not v["available"]}
    assert not missing, missing
    for section in ("pipeline", "tournament", "champion", "drift", "retraining", "serving"):
        assert (out / f"{section}.json").stat().st_size > 100, section


def test_watch_scores_a_live_feed_with_the_champion(story):
    "`fin-mlops watch` against the local feed: every trade lands and gets an instant verdict from the story's champion."
    lake, cfg, _ = story
    from financial_transactions.streaming.feed_server import FeedServer
    from financial_transactions.streaming.market_simulator import MarketSimulator
    mkt = MarketSimulator(cfg.simulator.model_copy(update={"seed": 99}), cfg.ingestion.symbols).generate(n_trades=6_000,
                                                                                                       start="2026-11-27T14:30:00Z")
    env = {k: v for k, v in os.environ.items() if k not in ("FINNHUB_API_KEY", "ALERT_WEBHOOK_URL")}
    with FeedServer(mkt, rate=5_000) as srv:
        r = subprocess.run([FIN, "watch", "--env", "dev", "--url", srv.url, "--max-trades", str(len(mkt.trades)), "--duration", "120"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    done = json.loads(r.stdout.strip().splitlines()[-1])
    n, h = len(mkt.trades), cfg.features.confirm_horizon
    assert (done["landed"], done["trades"], done["instant"]) == (n, n, n), done
    assert done["confirmed"] == n - h * mkt.trades["s"].nunique(), done
    assert done["confirmed_anomalies"] < 0.02 * done["confirmed"] and done["p99_ms"] > 0, done
    assert "latency p50" in r.stderr, r.stderr[-2000:]
