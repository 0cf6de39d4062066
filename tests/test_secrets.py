"""Secrets never leak: run the ingestion job against live-protocol servers that demand keys (a Finnhub token in the
WebSocket query string, an Alpha Vantage apikey), then search everything the run wrote — its output, every executed
notebook, every landing and log file, every table's values — for the keys. None may appear anywhere."""
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from financial_transactions.config import SimulatorConfig
from financial_transactions.streaming.alphavantage_server import AlphaVantageServer
from financial_transactions.streaming.feed_server import FeedServer
from financial_transactions.streaming.market_simulator import MarketSimulator
from test_ingestion_jobs import collection_only_project

FIN = str(Path(sys.executable).parent / "fin-mlops")
FINNHUB_KEY = "fh-secret-test-key-7f3a9c2e51"
AV_KEY = "av-secret-test-key-0b8d44e917"


def test_keys_appear_in_no_output_notebook_file_or_table(tmp_path, monkeypatch):
    market = MarketSimulator(SimulatorConfig(seed=7, n_trades=5_000), ["AAPL", "MSFT"]).generate()
    lakehouse = tmp_path / "lakehouse"
    with FeedServer(market, token=FINNHUB_KEY, rate=0) as feed, AlphaVantageServer(api_key=AV_KEY) as av:
        proj = collection_only_project(tmp_path / "proj")
        cfg = yaml.safe_load((proj / "project_config.yml").read_text())
        cfg["defaults"]["ingestion"]["finnhub"]["live_url"] = feed.url      # "live" = a server that checks the token
        cfg["defaults"]["ingestion"]["alphavantage"]["live_url"] = av.url
        cfg["defaults"]["ingestion"]["symbols"] = ["AAPL", "MSFT"]
        (proj / "project_config.yml").write_text(yaml.safe_dump(cfg))
        wf = proj / "resources/ingestion_workflow.yml"
        wf.write_text(wf.read_text().replace("duration_seconds: '20'", "duration_seconds: '4'"))
        env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lakehouse), "FINNHUB_API_KEY": FINNHUB_KEY, "ALPHAVANTAGE_API_KEY": AV_KEY}
        r = subprocess.run([FIN, "run", "ingestion_workflow"], cwd=proj, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    run_dir = next((lakehouse / "runs/ingestion_workflow").iterdir())
    mode = json.loads((run_dir / "task_values/collect_finnhub_stream.json").read_text())["finnhub_mode"]
    assert mode == "live", mode   # the key was used: the collector read the token-checking server, not the simulator

    leaks = [f"job output ({stream})" for stream, text in (("stdout", r.stdout), ("stderr", r.stderr))
             if FINNHUB_KEY in text or AV_KEY in text]
    files = [p for p in lakehouse.rglob("*") if p.is_file()]
    assert any(p.suffix == ".ipynb" for p in files) and any(p.suffix == ".jsonl" for p in files)
    leaks += [str(p.relative_to(lakehouse)) for p in files
              if FINNHUB_KEY.encode() in p.read_bytes() or AV_KEY.encode() in p.read_bytes()]
    # table files are compressed parquet: read every table and look at its values too
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(lakehouse))
    from financial_transactions.runtime import read_table
    tables = sorted({".".join(p.parent.relative_to(lakehouse / "tables").parts) for p in (lakehouse / "tables").rglob("_delta_log")})
    assert "mlops_dev.financial_transactions.collector_runs" in tables
    for t in tables:
        text = read_table(t).astype(str).to_csv()
        if FINNHUB_KEY in text or AV_KEY in text: leaks.append(f"table {t}")
    assert not leaks, f"a key leaked into: {leaks}"
    # and the run really used the keys: it collected live from the token-checking server
    runs = read_table("mlops_dev.financial_transactions.collector_runs")
    assert runs.set_index("source").loc["finnhub", "landed"] > 0
