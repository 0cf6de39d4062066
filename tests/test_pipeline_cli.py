"""The medallion pipeline through its command line, in a fresh process per run, on simulated input with bad rows and
duplicates: `fin-mlops pipeline run` ingests, a re-run changes no count, `--full-refresh` rebuilds the same tables, and
the build_training_sets job notebook writes version-stamped, time-split training sets. Starts Spark (in subprocesses).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _run(args, env, timeout=900):
    r = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r.stdout


@pytest.fixture(scope="module")
def lakehouse(tmp_path_factory):
    lh = tmp_path_factory.mktemp("lakehouse")
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lh)}
    code = """
from financial_transactions.runtime import load_project_config, landing_path
from financial_transactions.streaming.collector import land_trades
from financial_transactions.streaming.market_simulator import MarketSimulator
from financial_transactions.streaming.feed_server import corrupt_landing
import json
cfg = load_project_config("local")
m = MarketSimulator(cfg.simulator, cfg.ingestion.symbols).generate(n_trades=20_000)
land = landing_path(cfg, "finnhub")
land_trades(m.trades, land, "cli-1", chunk=5_000)
land_trades(m.trades.iloc[:3_000], land / "again", "cli-2", chunk=5_000)
from financial_transactions.features.feature_engineering import lookahead
awaiting = int(sum(min(k, lookahead(cfg.features)) for k in m.trades["s"].value_counts()))   # wait in the feature state
print(json.dumps({"trades": len(m.trades), "awaiting": awaiting, "bad": corrupt_landing(m.trades, land)}))
"""
    info = json.loads(_run([sys.executable, "-c", code], env).strip().splitlines()[-1])
    return env, info


def _pipeline(env, *extra):
    out = _run([str(BIN / "fin-mlops"), "pipeline", "run", "--env", "local", "--json", *extra], env)
    return json.loads(out[out.index("{"):])


def test_pipeline_cli_is_idempotent(lakehouse):
    env, info = lakehouse
    first = _pipeline(env)
    assert first["counts"]["silver_trades"] == info["trades"]
    assert first["counts"]["gold_features"] == info["trades"] - info["awaiting"]
    assert first["counts"]["quarantine"] == sum(info["bad"].values())
    again = _pipeline(env)
    assert again["counts"] == first["counts"]
    assert again["trades"]["bronze_rows"] == 0 and again["gold"]["gold_rows"] is None
    refreshed = _pipeline(env, "--full-refresh")
    assert refreshed["counts"] == first["counts"]


def test_build_training_sets_job_notebook(lakehouse, tmp_path):
    env, info = lakehouse
    out = tmp_path / "build_training_sets.ipynb"
    _run([str(BIN / "papermill"), str(ROOT / "nbs/jobs/build_training_sets.ipynb"), str(out), "-p", "env", "local",
          "--cwd", str(ROOT / "nbs/jobs")], env)
    code = """
from financial_transactions.runtime import PipelineTableError, load_project_config, read_table, table_version
cfg = load_project_config("local")
tr, te = read_table(cfg.table("train_set")), read_table(cfg.table("test_set"))
# gold is the pipeline's: a job pins the training sets' own versions, and stamps no gold version
assert tr.feature_table_version.isna().all() and te.feature_table_version.isna().all()
try: table_version(cfg.table("gold_features")); raise AssertionError("a job read a pipeline dataset's version")
except PipelineTableError: pass
assert tr.ts.max() < te.ts.min() and len(tr) > len(te) > 0
print(len(tr), len(te))
"""
    _run([sys.executable, "-c", code], env)
