"""Live scoring (`fin-mlops watch`): trade-to-instant-verdict latency at a given feed rate, beside the collector alone.

    .venv/bin/python bench/bench_live.py                    # 5,000 trades/s for 20 s, then flat out; about two minutes
    .venv/bin/python bench/bench_live.py --rate 5000 --seconds 5

The local feed server (`fin-mlops feed serve`, its own process, as a feed is) streams a simulated session at `--rate`
trades a second; `monitoring.live.watch` lands every trade and scores it with a LightGBM champion (trained on another
session) as it arrives. Two latencies per trade:

- *receipt*: from the moment its message is read off the socket to its instant verdict (what `LiveStats` reports);
- *schedule*: from the moment the feed was due to send it (the first message's receipt plus its place on the tape
  divided by the rate) to its instant verdict, so a backlog in the socket or a feed that fell behind counts too.

Then the same feed flat out (`rate=0`), once with the collector alone and once with live scoring: the ratio of the
two throughputs is what scoring costs the collector. Writes bench/out/bench_live.json.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=5_000, help="feed rate, trades per second")
    ap.add_argument("--seconds", type=float, default=20, help="seconds of feed at that rate")
    ap.add_argument("--out", default="bench/out/bench_live.json")
    a = ap.parse_args(argv)
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp(prefix="bench-live-")
    from financial_transactions.features.feature_engineering import FeatureEngineer, label_anomalies
    from financial_transactions.models.base_model import LightGBMModel
    from financial_transactions.monitoring.live import LiveScorer, watch
    from financial_transactions.runtime import load_project_config
    from financial_transactions.streaming.feed_server import FeedServer
    from financial_transactions.streaming.finnhub_collector import FinnhubCollector
    from financial_transactions.streaming.market_simulator import MarketSimulator
    cfg = load_project_config("local")

    def session(n, seed):
        m = MarketSimulator(cfg.simulator.model_copy(update={"seed": seed}), cfg.ingestion.symbols).generate(n_trades=n)
        return m, m.trades.rename(columns={"s": "symbol", "p": "price", "v": "volume"}).assign(
            ts=lambda d: pd.to_datetime(d["t"], unit="ms", utc=True))[["symbol", "ts", "price", "volume"]]
    _, tr = session(50_000, 1)
    train = label_anomalies(FeatureEngineer(cfg).transform(tr), cfg).dropna(subset=FeatureEngineer.feature_columns)
    model = LightGBMModel(FeatureEngineer.feature_columns, params={"n_estimators": 200}, alert_budget=cfg.models.alert_budget).fit(train)
    mkt, _ = session(int(a.rate * a.seconds), 2)
    n = len(mkt.trades)     # the simulator adds a few (bursts) to the number asked
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    feed = subprocess.Popen([str(Path(sys.executable).parent / "fin-mlops"), "feed", "serve", "--env", "local", "--port", str(port),
                             "--rate", str(a.rate), "--n-trades", str(int(a.rate * a.seconds)), "--seed", "2", "--exit-when-done"],
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "FIN_MLOPS_LAKEHOUSE": os.environ["FIN_MLOPS_LAKEHOUSE"]})
    assert "listening" in feed.stdout.readline()
    tape = {(s, int(t), float(p), float(v)): i for i, (s, t, p, v) in enumerate(zip(mkt.trades.s, mkt.trades.t, mkt.trades.p, mkt.trades.v, strict=True))}

    # 1. at the rate: both latencies per trade
    verdict_at, first = np.full(n, np.nan), []
    class Timed(LiveScorer):
        def on_trades(self, trades, received_ms):
            if not first: first.append(received_ms)
            super().on_trades(trades, received_ms)
        def push_arrays(self, symbol, t_ns, price, volume, received_ms=None, **kw):
            out = super().push_arrays(symbol, t_ns, price, volume, received_ms, **kw)
            now = time.time() * 1000
            for s, t, p, v in zip(symbol, t_ns, price, volume, strict=True):
                verdict_at[tape[(s, int(t) // 1_000_000, p, v)]] = now
            return out
    import financial_transactions.monitoring.live as live
    real = live.LiveScorer
    live.LiveScorer = Timed
    try:
        t0 = time.perf_counter()
        scorer, st = watch(cfg, url=f"ws://127.0.0.1:{port}", max_trades=n, model=model, progress=False, fsync=False)
        secs = time.perf_counter() - t0
    finally:
        live.LiveScorer = real
        feed.terminate(); feed.wait(30)
    sched = first[0] + np.arange(n) / a.rate * 1000
    lag = verdict_at - sched
    rec = scorer.stats.latency()
    at_rate = {"rate": a.rate, "trades": n, "landed": st.landed, "instant_verdicts": scorer.stats.instant,
               "confirmed_verdicts": scorer.stats.confirmed, "dropped": n - scorer.stats.instant, "seconds": round(secs, 2),
               "receipt_p50_ms": round(rec["p50_ms"], 2), "receipt_p99_ms": round(rec["p99_ms"], 2), "receipt_max_ms": round(rec["max_ms"], 2),
               "schedule_p50_ms": round(float(np.nanpercentile(lag, 50)), 2), "schedule_p99_ms": round(float(np.nanpercentile(lag, 99)), 2),
               "schedule_max_ms": round(float(np.nanmax(lag)), 2)}
    print(json.dumps(at_rate), flush=True)

    # 2. flat out: the collector alone, then with live scoring
    def flat_out(scoring: bool) -> float:
        with FeedServer(mkt, rate=0, batch_size=100) as srv:
            t0 = time.perf_counter()
            if scoring: _, s = watch(cfg, url=srv.url, max_trades=n, model=model, progress=False, fsync=False)
            else: s = FinnhubCollector.from_config(cfg, url=srv.url, fsync=False).run(None, n)
            return s.landed / (time.perf_counter() - t0)
    alone, scored = flat_out(False), flat_out(True)
    flat = {"collector_alone_trades_per_s": round(alone), "with_live_scoring_trades_per_s": round(scored),
            "scoring_cost_ratio": round(alone / scored, 2)}
    print(json.dumps(flat), flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"at_rate": at_rate, "flat_out": flat}, indent=1))


if __name__ == "__main__":
    main()
