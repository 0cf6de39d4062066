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


def build_model(lakehouse: Path) -> tuple[str, dict, str]:
    "Register the model; returns (model uri, one request row, what the model is)."
    os.environ["FIN_MLOPS_LAKEHOUSE"] = str(lakehouse)
    import logging
    logging.getLogger("alembic").setLevel(logging.WARNING); logging.getLogger("mlflow").setLevel(logging.WARNING)
    import mlflow
    from financial_transactions.runtime import load_project_config, setup_mlflow
    cfg = load_project_config("dev")
    mlflow.set_experiment(experiment_id=setup_mlflow(cfg))
    try:
        from financial_transactions.models.base_model import LightGBMModel, synthetic_anomaly_frame
        from financial_transactions.models.custom_model import log_custom_model
        train = synthetic_anomaly_frame(20_000, seed=1)
        feats = [c for c in train.columns if re.fullmatch(r"f\d+", c)]
        m = LightGBMModel.from_config(cfg, feature_columns=feats).fit(train)
        with mlflow.start_run(run_name="bench-serving"):
            info = log_custom_model(m, train)
        mv = mlflow.register_model(info.model_uri, cfg.registered_model_name)
        client = mlflow.MlflowClient()
        client.set_model_version_tag(cfg.registered_model_name, mv.version, "feature_columns", json.dumps(feats))
        client.set_registered_model_alias(cfg.registered_model_name, "champion", mv.version)
        what = f"LightGBM CustomModel, {len(feats)} features"
        row = {c: float(train[c].iloc[7]) for c in feats}
    except ImportError:
        from financial_transactions.serving.gateway import register_threshold_model
        register_threshold_model(cfg, [1.0, 0.5, 0.25], aliases=("champion",))
        what, row = "ThresholdModel (models package unavailable)", {"f0": 1.0, "f1": 2.0, "f2": 3.0}
    return f"models:/{cfg.registered_model_name}@champion", row, what


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None: raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200: return time.monotonic() - t0
        except requests.ConnectionError: pass
        time.sleep(0.2)
    raise TimeoutError(url)


def load(url: str, body: bytes, n: int, clients: int) -> dict:
    "n requests over `clients` keep-alive sessions: requests/s and latency percentiles (ms)."
    lat, lock, errors = [], threading.Lock(), []
    per = n // clients

    def worker(w):
        mine = []
        with requests.Session() as s:
            for i in range(per):
                t = time.perf_counter()
                r = s.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json", "X-Request-Key": f"c{w}-{i}"})
                mine.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200: errors.append(r.text[:200])
        with lock: lat.extend(mine)

    for _ in range(clients):  # warm-up
        requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"})
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
    uri, row, what = build_model(lake)
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
        h = r["many"]
        lines.append(f"| {name} | {h['answered']:,} | {h['resets']} | {h['errors']} | {h['rps']:.0f} | {h['p50']:.1f} | {h['p99']:.1f} |")
    lines += ["", f"Same answer from both: {same} (anomaly_score {g['answer']['anomaly_score']:.6g}). Gateway / MLflow throughput: "
              f"{g['c1']['rps'] / m['c1']['rps']:.2f}x with 1 client, {g['c4']['rps'] / m['c4']['rps']:.2f}x with 4."]
    section = "\n".join(lines)
    print(section)
    if not a.no_readme: update_readme(section)
    return 0 if same and not g["many"]["resets"] else 1


if __name__ == "__main__":
    sys.exit(main())
