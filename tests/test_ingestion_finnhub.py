"""The Finnhub collector as a process, against the local feed server: exactly once after de-duplication with faults
on, no flushed file lost to SIGKILL, a clean flush on SIGTERM, and the token kept out of every output."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from financial_transactions.config import SimulatorConfig
from financial_transactions.streaming.feed_server import FaultConfig, FeedServer
from financial_transactions.streaming.collector import landed_files, read_landed
from financial_transactions.streaming.market_simulator import MarketSimulator

FIN = str(Path(sys.executable).parent / "fin-mlops")
SYMBOLS = ["AAPL", "MSFT", "NVDA", "BINANCE:BTCUSDT"]


@pytest.fixture(scope="module")
def market():
    return MarketSimulator(SimulatorConfig(seed=11, n_trades=40_000, anomaly_rate=0.003), SYMBOLS).generate()


def collector(tmp_path, url, *args, token=None):
    "Start `fin-mlops collect finnhub` against `url` with its own lakehouse; stdout is JSON lines."
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(tmp_path / "lakehouse")}
    env.pop("FINNHUB_API_KEY", None)
    if token: env["FINNHUB_API_KEY"] = token
    cmd = [FIN, "collect", "finnhub", "--url", url, "--symbols", ",".join(SYMBOLS), "--landing", str(tmp_path / "finnhub"),
           "--env", "local", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def key(df):
    "The de-duplication key (s, t, p, v, c) as hashable columns."
    return df.assign(c=df["c"].map(lambda c: tuple(c) if isinstance(c, (list, tuple)) else None))[["s", "t", "p", "v", "c"]]


def sorted_keys(df):
    return key(df).sort_values(["t", "s", "p", "v"]).reset_index(drop=True)


def test_every_sent_trade_lands_exactly_once_with_faults(tmp_path, market):
    faults = FaultConfig(disconnect=4000, malformed=40, invalid=55, duplicate=15, out_of_order=9, late=21, late_by=4)
    with FeedServer(market, rate=0, batch_size=100, faults=faults) as srv:
        p = collector(tmp_path, srv.url, "--max-trades", str(len(market.trades)), "--duration", "120", "--flush-trades", "3000")
        out, err = p.communicate(timeout=180)
        sent, stats = srv.sent_trades(), dict(srv.stats)
    assert p.returncode == 0, err
    done = json.loads(out.splitlines()[-1])
    assert stats["disconnects"] >= 5 and stats["malformed_sent"] > 0 and stats["duplicate_messages"] > 0
    assert len(sent) == len(market.trades)                     # the server sent the whole market ...
    landed = read_landed(tmp_path / "finnhub")
    assert not key(landed).duplicated().any()                 # ... the collector already dropped the repeats ...
    pd.testing.assert_frame_equal(sorted_keys(landed), sorted_keys(sent), check_dtype=False)   # ... and each landed once
    rejected = read_landed(tmp_path / "finnhub_rejected", prefix="rejected-")
    assert len(rejected) == stats["malformed_sent"] + stats["invalid_sent"]
    assert rejected["reason"].str.len().gt(0).all() and rejected["raw"].notna().all()
    assert rejected["reason"].str.startswith("malformed JSON").sum() >= 1
    assert done["received"] == done["landed"] + done["rejected"] + done["duplicates"]
    assert done["reconnects"] >= stats["disconnects"] and done["landed"] == len(market.trades)
    assert not [f for f in (tmp_path / "finnhub").iterdir() if f.name.endswith(".tmp")]


def test_sigkill_loses_at_most_the_unflushed_buffer(tmp_path, market):
    # at 5,000 trades/s the 40,000-trade tape lasts 8 s: the kill comes mid-stream, after four flushes of 1,000 trades
    flush, batch, rate = 1000, 50, 5000
    with FeedServer(market, rate=rate, batch_size=batch) as srv:
        p = collector(tmp_path, srv.url, "--duration", "120", "--flush-trades", str(flush), "--flush-seconds", "600")
        reported = []                                         # the collector reports each file it flushed, with its count
        for line in p.stdout:
            ev = json.loads(line)
            if ev["event"] == "flush": reported.append(ev)
            if len(reported) == 4: break
        assert len(reported) == 4, (reported, p.poll())
        # synchronise on the files themselves: the four reported files are in the landing folder before the kill
        assert [ev["file"] for ev in reported] == [f.name for f in landed_files(tmp_path / "finnhub")][:4]
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        srv.stop()                                            # nothing more is sent: `sent` is final
        sent = srv.sent_trades()
    assert p.returncode == -signal.SIGKILL
    files = landed_files(tmp_path / "finnhub")                # the process is gone: these are all the files it left
    names = [f.name for f in files]
    # every file the collector reported as flushed is there, whole, with the count it reported
    assert [ev["file"] for ev in reported] == names[:4]
    landed = read_landed(tmp_path / "finnhub")                # every line of every landed file parses
    per_file = landed.groupby("_file").size().reindex(names)
    assert per_file.between(flush, flush + batch - 1).all(), per_file   # flushed by count: full files only, none torn
    for ev in reported: assert per_file[per_file.index <= ev["file"]].sum() == ev["landed"], (ev, per_file)
    # what landed is exactly the start of what was sent, in order: nothing flushed was lost, repeated or torn
    pd.testing.assert_frame_equal(key(landed), key(sent.iloc[:len(landed)]).reset_index(drop=True), check_dtype=False)
    # the loss is at most the unflushed buffer (under flush + one message) plus about one second of the server's traffic
    # (what was on the wire or not yet read when the process died)
    lost = len(sent) - len(landed)
    assert 0 <= lost <= flush + batch + rate * 1.0, (lost, len(sent), len(landed))


def test_sigterm_flushes_the_buffer_and_records_the_run(tmp_path, market, monkeypatch):
    with FeedServer(market, rate=20_000, batch_size=50) as srv:
        p = collector(tmp_path, srv.url, "--duration", "120", "--flush-trades", "100000", "--flush-seconds", "600")
        assert json.loads(p.stdout.readline())["event"] == "start"
        deadline = time.time() + 30
        while srv.stats["trades_sent"] < 5000 and time.time() < deadline: time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    done = json.loads(out.splitlines()[-1]) if out.strip() else {}
    assert done.get("event") == "done", (out, err)
    landed = read_landed(tmp_path / "finnhub")
    # everything received was flushed at the signal: one file, nothing lost inside the collector
    assert done["landed"] == len(landed) == done["received"] >= 2000 and done["files"] == 1
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(tmp_path / "lakehouse"))
    from financial_transactions.runtime import load_project_config, read_table
    runs = read_table(load_project_config("local").table("collector_runs"))
    assert runs[["run_id", "source", "landed"]].to_dict("records") == [{"run_id": done["run_id"], "source": "finnhub", "landed": len(landed)}]
    assert (runs["ended_at"] > runs["started_at"]).all()


def test_the_token_never_shows(tmp_path, market):
    secret = "sk-live-DO-NOT-PRINT-4242"
    os.environ["FEED_TEST_TOKEN"] = "another-token"
    try:
        with FeedServer(market, token="another-token") as srv:
            p = collector(tmp_path, srv.url, "--duration", "10", token=secret)
            out, err = p.communicate(timeout=30)
    finally:
        del os.environ["FEED_TEST_TOKEN"]
    assert p.returncode == 2 and "refused the token" in err
    assert secret not in out + err
    logged = "".join(f.read_text() for f in (tmp_path / "finnhub_rejected").glob("*")) if (tmp_path / "finnhub_rejected").exists() else ""
    assert secret not in logged
    # the right token is accepted
    with FeedServer(market, token=secret, rate=0) as srv:
        p = collector(tmp_path, srv.url, "--max-trades", "1000", "--duration", "20", token=secret)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and secret not in out + err
    assert json.loads(out.splitlines()[-1])["landed"] >= 1000


def test_help_texts():
    for args in (["feed", "serve", "--help"], ["collect", "finnhub", "--help"], ["collect", "--help"]):
        r = subprocess.run([FIN, *args], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "usage: fin-mlops" in r.stdout, r.stderr
