"""Collector throughput: trades per second from the local Finnhub feed server into landing files.

Beside it, on an identical server, a bare client that only receives each message and parses it (the floor any
collector pays): once with `json.loads` and once with `orjson.loads` (the parser the collector uses). The ratio
is collector / bare(orjson), the stricter of the two.

Each measurement gets its own server process (the same command line: the tape is streamed once), started with
`fin-mlops feed serve --port 0 --rate 0`, so server and client run on separate cores as they would in production.
Rounds alternate bare and collector runs; the median of the rounds is reported.

    .venv/bin/python bench/bench_collector.py [--trades 400000] [--batch 500] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import websocket

from financial_transactions.streaming.finnhub_collector import FinnhubCollector
from financial_transactions.streaming.collector import landed_files

SYMBOLS = ["AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "META", "TSLA", "JPM", "V", "BINANCE:BTCUSDT"]
FIN = str(Path(sys.executable).parent / "fin-mlops")


class Server:
    "A feed server in its own process, on a free port, streaming `n` trades as fast as the client reads."
    def __init__(self, n: int, batch: int):
        env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": tempfile.mkdtemp()}
        self.p = subprocess.Popen([FIN, "feed", "serve", "--port", "0", "--rate", "0", "--batch", str(batch),
                                   "--n-trades", str(n), "--symbols", ",".join(SYMBOLS), "--env", "dev",
                                   "--duration", "300"], stdout=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()
        if not line.startswith("listening on "): raise RuntimeError(f"feed server did not start: {line!r}")
        self.url = line.split()[2]
        self.n = int(line.split("(")[1].split()[0])

    def __enter__(self): return self
    def __exit__(self, *exc):
        self.p.terminate(); self.p.wait(10)


def bare(url: str, n: int, loads) -> tuple[float, float]:
    "Receive and parse until `n` trades arrived; trades per wall-clock second and per CPU second of this client."
    ws = websocket.create_connection(url, timeout=30, skip_utf8_validation=True)
    for s in SYMBOLS: ws.send(json.dumps({"type": "subscribe", "symbol": s}))
    got, t0 = 0, None
    while got < n:
        op, data = ws.recv_data()
        if t0 is None: t0, c0 = time.perf_counter(), time.process_time()
        m = loads(data)
        if m.get("type") == "trade": got += len(m["data"])
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    ws.close()
    return got / dt, got / cpu


def collector(url: str, n: int) -> tuple[float, float, dict]:
    "Run the FinnhubCollector until `n` trades are landed in files; trades per wall-clock second and per CPU second."
    d = Path(tempfile.mkdtemp())
    col = FinnhubCollector(url, SYMBOLS, d / "finnhub", flush_every_trades=5000, flush_every_seconds=5.0)
    t0, c0 = time.perf_counter(), time.process_time()
    st = col.run(max_trades=n, duration=120)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert st.landed == n and sum(1 for _ in landed_files(d / "finnhub")) == st.files, (st, n)
    return n / dt, n / cpu, {"files": st.files, "landed": st.landed}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trades", type=int, default=400_000)
    ap.add_argument("--batch", type=int, default=500, help="trades per WebSocket message")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    res = {"bare_json": [], "bare_orjson": [], "collector": []}
    cpu = {"bare_json": [], "bare_orjson": [], "collector": []}
    for r in range(a.rounds):
        for name, loads in (("bare_json", json.loads), ("bare_orjson", orjson.loads)):
            with Server(a.trades, a.batch) as s: w, c = bare(s.url, s.n, loads)
            res[name].append(w); cpu[name].append(c)
        with Server(a.trades, a.batch) as s: w, c, info = collector(s.url, s.n)
        res["collector"].append(w); cpu["collector"].append(c)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in res.items()), flush=True)
    med = {k: statistics.median(v) for k, v in res.items()}
    mcpu = {k: statistics.median(v) for k, v in cpu.items()}
    out = {"trades": s.n, "batch": a.batch, "rounds": a.rounds, **{f"{k}_per_s": round(v) for k, v in med.items()},
           **{f"{k}_per_cpu_s": round(v) for k, v in mcpu.items()},
           "ratio_vs_bare_orjson": round(med["collector"] / med["bare_orjson"], 3),
           "ratio_vs_bare_json": round(med["collector"] / med["bare_json"], 3),
           "cpu_ratio_vs_bare_orjson": round(mcpu["collector"] / mcpu["bare_orjson"], 3),
           "cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    print(f"\n{'':22}{'wall clock':>16}{'per client CPU-second':>24}")
    for k, label in (("collector", "collector"), ("bare_json", "bare recv+json.loads"), ("bare_orjson", "bare recv+orjson")):
        print(f"{label:22}{med[k]:>12,.0f}/s{mcpu[k]:>20,.0f}/s")
    print(f"ratio collector/bare(orjson): wall {out['ratio_vs_bare_orjson']:.2f}, CPU {out['cpu_ratio_vs_bare_orjson']:.2f}; "
          f"collector/bare(json): wall {out['ratio_vs_bare_json']:.2f}   ({info['files']} fsynced files per run, load {out['load_avg_1m']})")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
