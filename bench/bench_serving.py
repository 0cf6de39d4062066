"""Serving: the project's gateway (`fin-mlops serve`) beside `mlflow models serve` of the same registered model.

One throwaway lakehouse, one model: a LightGBM candidate trained on a synthetic train set and logged as the project's
CustomModel pyfunc (falls back to the gateway's ThresholdModel if the models package is unavailable), registered with
the `champion` alias. Both servers run in their own process on loopback (ports 20401 and 20402) with the same
single-row `dataframe_split` request; each is measured with 1 client (latency) and with 4 concurrent keep-alive
clients (throughput), then with 32 clients for 20 s (resets and tail latency). The gateway also routes by key and writes every request to the inference table; MLflow's server
does neither. Prints a table and updates the serving section of bench/README.md.

Run: .venv/bin/python bench/bench_serving.py [--requests 2000]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GATEWAY_PORT, MLFLOW_PORT = 20401, 20402


def build_model(lakehouse: Path) -> tuple[str, dict, str, object]:
    "Register the model; returns (model uri, one request row, what the model is, a session of raw trades to send)."
    os.environ["FIN_MLOPS_LAKEHOUSE"] = str(lakehouse)
    import logging
    logging.getLogger("alembic").setLevel(logging.WARNING); logging.getLogger("mlflow").setLevel(logging.WARNING)
    import mlflow
    from financial_transactions.runtime import load_project_config, setup_mlflow
    cfg = load_project_config("dev")
    mlflow.set_experiment(experiment_id=setup_mlflow(cfg))
    import pandas as pd
    from financial_transactions.features.feature_engineering import FeatureEngineer, label_anomalies
    from financial_transactions.models.base_model import LightGBMModel
    from financial_transactions.models.custom_model import CustomModel, log_custom_model
    from financial_transactions.models.registry import register_model, set_alias
    from financial_transactions.streaming.market_simulator import MarketSimulator

    def session(n, seed):
        m = MarketSimulator(cfg.simulator.model_copy(update={"seed": seed}), cfg.ingestion.symbols).generate(n_trades=n)
        return m.trades.rename(columns={"s": "symbol", "t": "ts", "p": "price", "v": "volume"})[["symbol", "ts", "price", "volume"]]
    tr = session(50_000, 1)
    gold = label_anomalies(FeatureEngineer(cfg).transform(tr.assign(ts=pd.to_datetime(tr.ts, unit="ms", utc=True))), cfg)
    gold = gold.dropna(subset=FeatureEngineer.feature_columns)
    m = LightGBMModel.from_config(cfg).fit(gold)      # the tournament's LightGBM on the feature code's model inputs
    with mlflow.start_run(run_name="bench-serving"):
        info = log_custom_model(m, gold)
    set_alias(cfg, "champion", register_model(cfg, info.model_uri, tags=CustomModel(m).describe()))
    what = f"LightGBM CustomModel, {len(m.feature_columns)} features, {m.params.get('n_estimators')} trees"
    row = {c: float(gold[c].iloc[7]) for c in m.feature_columns}
    return f"models:/{cfg.registered_model_name}@champion", row, what, session(20_000, 2)


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200: return time.monotonic() - t0
        except requests.ConnectionError: pass
        time.sleep(0.2)
    raise TimeoutError(url)


def load(url: str, body, n: int, clients: int) -> dict:
    "n requests over `clients` keep-alive sessions: requests/s and latency percentiles (ms); `body` is bytes or body(client, i) (i = -1: warm-up)."
    make = body if callable(body) else (lambda w, i: body)
    lat, lock, errors = [], threading.Lock(), []
    per = n // clients

    def worker(w):
        mine = []
        with requests.Session() as s:
            for i in range(per):
                t = time.perf_counter()
                r = s.post(f"{url}/invocations", data=make(w, i), headers={"Content-Type": "application/json", "X-Request-Key": f"c{w}-{i}"})
                mine.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200: errors.append(r.text[:200])
        with lock: lat.extend(mine)

    for w in range(clients):  # warm-up
        requests.post(f"{url}/invocations", data=make(w, -1), headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    ths = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    for t in ths: t.start()
    for t in ths: t.join()
    wall = time.perf_counter() - t0
    if errors: raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    a = np.array(lat)
    return {"rps": len(a) / wall, "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "n": len(a)}


def hammer(url: str, body: bytes, clients: int = 32, seconds: float = 20.0) -> dict:
    "`clients` keep-alive sessions posting for `seconds`: answered, connection errors (resets), other statuses, latency."
    end, lat, resets, other, lock = time.monotonic() + seconds, [], [0], [0], threading.Lock()

    def worker(w):
        mine, i = [], 0
        s = requests.Session()
        while time.monotonic() < end:
            t = time.perf_counter()
            try:
                r = s.post(f"{url}/invocations", data=body, timeout=30,
                           headers={"Content-Type": "application/json", "X-Request-Key": f"h{w}-{i}"})
                mine.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    with lock: other[0] += 1
            except requests.ConnectionError:
                with lock: resets[0] += 1
                s.close(); s = requests.Session()
            i += 1
        s.close()
        with lock: lat.extend(mine)

    t0 = time.perf_counter()
    ths = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
    for t in ths: t.start()
    for t in ths: t.join()
    wall = time.perf_counter() - t0
    a = np.array(lat)
    return {"answered": len(a), "resets": resets[0], "errors": other[0], "rps": len(a) / wall,
            "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99))}


def trade_bodies(trades, clients: int):
    "body(w, i): one raw trade a request, client w sending only its own symbols, in time order (i = -1 first)."
    syms = sorted(trades.symbol.unique())
    per = [trades[trades.symbol.isin(syms[w::clients])].to_dict("records") for w in range(clients)]
    return lambda w, i: json.dumps({"trades": [per[w][i + 1]]}).encode()


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try: proc.wait(timeout=60)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()


def update_readme(section: str):
    readme = ROOT / "bench" / "README.md"
    text = readme.read_text() if readme.exists() else "# Benchmarks\n"
    start, end = "<!-- serving:start -->", "<!-- serving:end -->"
    block = f"{start}\n{section.strip()}\n{end}"
    if start in text: text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else: text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="requests per measurement (default 2000)")
    ap.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    ap.add_argument("--clients", type=int, default=32, help="clients of the sustained run (default 32)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the sustained run (default 20)")
    a = ap.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    uri, row, what, tape = build_model(lake)
    half = len(tape) // 2
    body = json.dumps({"dataframe_split": {"columns": list(row), "data": [list(row.values())]}}).encode()
    db = f"sqlite:///{lake / 'mlflow' / 'mlflow.db'}"
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lake), "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
           "MLFLOW_TRACKING_URI": db, "MLFLOW_REGISTRY_URI": db}
    servers = {
        "gateway (fin-mlops serve)": ([str(BIN / "fin-mlops"), "serve", "--port", str(GATEWAY_PORT), "--duration", "900"], GATEWAY_PORT),
        "mlflow models serve": ([str(BIN / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local", "-h", "127.0.0.1",
                                 "-p", str(MLFLOW_PORT), "-w", "1"], MLFLOW_PORT),
    }
    results = {}
    for name, (cmd, port) in servers.items():
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            ready = wait_ready(url, proc)
            r = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}).json()
            results[name] = {"ready_s": ready, "answer": r["predictions"][0], "c1": load(url, body, a.requests, 1),
                             "c4": load(url, body, a.requests, 4), "many": hammer(url, body, a.clients, a.seconds)}
            if port == GATEWAY_PORT:      # the same gateway fed raw trades: it computes their features from its state
                results["gateway, raw trades"] = {"ready_s": ready, "c1": load(url, trade_bodies(tape.iloc[:half], 1), a.requests, 1),
                                                  "c4": load(url, trade_bodies(tape.iloc[half:], 4), a.requests, 4),
                                                  "health": requests.get(f"{url}/health").json()["trade_state"]}
        finally:
            stop(proc)
    g, m = results["gateway (fin-mlops serve)"], results["mlflow models serve"]
    same = abs(g["answer"]["anomaly_score"] - m["answer"]["anomaly_score"]) < 1e-12
    lines = ["## Serving (`bench/bench_serving.py`)", "",
             f"The gateway (`fin-mlops serve`: stdlib ThreadingHTTPServer, MLflow's input parser, key routing, every request "
             f"written to the inference table in batches) beside `mlflow models serve --env-manager local` (uvicorn, 1 worker) "
             f"of the same registered model ({what}), one single-row `dataframe_split` request, {a.requests:,} requests per "
             f"measurement after a warm-up, keep-alive clients in one Python process on the same two cores. Measured {date.today()}.", "",
             "| server | ready after | 1 client: req/s | p50 ms | p99 ms | 4 clients: req/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['ready_s']:.1f} s | {r['c1']['rps']:.0f} | {r['c1']['p50']:.2f} | {r['c1']['p99']:.2f} | "
                     f"{r['c4']['rps']:.0f} | {r['c4']['p50']:.2f} | {r['c4']['p99']:.2f} |")
    lines += ["", f"Sustained load: {a.clients} keep-alive clients posting for {a.seconds:g} s.", "",
              "| server | answered | connection resets | non-200 | req/s | p50 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        if "many" not in r: continue
        h = r["many"]
        lines.append(f"| {name} | {h['answered']:,} | {h['resets']} | {h['errors']} | {h['rps']:.0f} | {h['p50']:.1f} | {h['p99']:.1f} |")
    t = results["gateway, raw trades"]
    lines += ["", f"Same answer from both: {same} (anomaly_score {g['answer']['anomaly_score']:.6g}). Gateway / MLflow throughput: "
              f"{g['c1']['rps'] / m['c1']['rps']:.2f}x with 1 client, {g['c4']['rps'] / m['c4']['rps']:.2f}x with 4.",
              "", f"Raw trades (`{{\"trades\": [one trade]}}`, the gateway computing each trade's features from its per-symbol state, "
              f"the instant verdict and the confirmations the trade completes in the answer; the 4 clients send disjoint symbols, "
              f"each in time order; {t['health']['symbols']} symbols held, {t['health']['late']} late) against MLflow's feature rows: "
              f"{t['c1']['rps'] / m['c1']['rps']:.2f}x with 1 client, {t['c4']['rps'] / m['c4']['rps']:.2f}x with 4."]
    section = "\n".join(lines)
    print(section)
    if not a.no_readme: update_readme(section)
    return 0 if same and not g["many"]["resets"] else 1


if __name__ == "__main__":
    sys.exit(main())
