"""`fin-mlops serve` as a user runs it: a process serving the registry's champion and challenger on loopback.
A 10% canary sends about 10% of 10,000 keyed requests to the challenger, the same key always reaches the same model,
bad requests get a 4xx with the reason, and every request is in the inference table once the gateway stops."""
import json
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


def _registry(lakehouse: Path):
    "A throwaway registry: v1 champion (scores f0), v2 latest-model (scores f1)."
    code = f"""
import os; os.environ["FIN_MLOPS_LAKEHOUSE"] = {str(lakehouse)!r}
from financial_transactions.runtime import load_project_config
from financial_transactions.serving.gateway import register_threshold_model
cfg = load_project_config("dev")
print(register_threshold_model(cfg, [1.0, 0.0], aliases=("champion", "latest-model")), register_threshold_model(cfg, [0.0, 1.0]))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.split() == ["1", "2"], r.stdout + r.stderr


def _serve(lakehouse: Path, *args):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lakehouse)}
    p = subprocess.Popen([FIN, "serve", "--port", "0", "--duration", "600", *args], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"on (http://127\.0\.0\.1:\d+)/invocations", line)
    assert m, line + p.stderr.read()
    return p, m.group(1), line


def _stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _read_log(lakehouse: Path):
    code = f"""
import os; os.environ["FIN_MLOPS_LAKEHOUSE"] = {str(lakehouse)!r}
from financial_transactions.runtime import load_project_config, read_table
cfg = load_project_config("dev")
df = read_table(cfg.table("inference_log"), columns=["request_key", "served_entity", "model_version", "status_code", "error"])
print(df.to_json(orient="records"))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_canary_split_is_stable_and_every_request_is_logged(tmp_path):
    _registry(tmp_path)
    p, url, banner = _serve(tmp_path, "--canary", "10")
    assert "champion v1, challenger v2 on 10% of keys" in banner, banner
    n_keys, n_requests = 2_500, 10_000
    row = {"f0": 3.0, "f1": 0.5}

    def call(i):
        key = f"customer-{i % n_keys}"
        with requests.post(f"{url}/invocations", json={"dataframe_records": [row]}, headers={"X-Request-Key": key}, timeout=30) as r:
            assert r.status_code == 200, r.text
            return key, r.headers["X-Model-Version"], r.json()["predictions"][0]["anomaly_score"]

    try:
        with ThreadPoolExecutor(8) as pool: results = list(pool.map(call, range(n_requests)))
        health = requests.get(f"{url}/health", timeout=10).json()
        bad = requests.post(f"{url}/invocations", json={"dataframe_records": [{"f0": 1.0}]}, headers={"X-Request-Key": "customer-1"}, timeout=10)
    finally:
        stopped = _stop(p)

    by_key = {}
    for key, version, score in results:
        by_key.setdefault(key, set()).add(version)
        assert score == {"1": 3.0, "2": 0.5}[version]               # the answer came from the model named in the header
    assert {len(v) for v in by_key.values()} == {1}                  # the same key always reached the same model
    share = sum(v == "2" for _, v, _ in results) / n_requests
    assert 0.08 <= share <= 0.12, share                              # about 10 % to the challenger
    assert health["requests"]["challenger"] + health["requests"]["champion"] == n_requests
    assert bad.status_code == 400 and "missing columns ['f1']" in bad.json()["message"]

    log = _read_log(tmp_path)
    assert len(log) == n_requests + 1 == stopped["logged"]           # every request, flushed on SIGTERM
    assert sum(r["status_code"] == 200 for r in log) == n_requests
    logged = {}
    for r in log:
        if r["status_code"] == 200: logged.setdefault(r["request_key"], set()).add(r["model_version"])
    assert logged == by_key


def test_serve_without_challenger_refuses_a_canary_and_serves_the_champion(tmp_path):
    _registry(tmp_path)
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(tmp_path)}
    # make the champion the latest model too: no challenger left
    code = f"""
import os; os.environ["FIN_MLOPS_LAKEHOUSE"] = {str(tmp_path)!r}
import mlflow
from financial_transactions.runtime import load_project_config, setup_mlflow
cfg = load_project_config("dev"); setup_mlflow(cfg)
mlflow.MlflowClient().set_registered_model_alias(cfg.registered_model_name, "latest-model", "1")
"""
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=120).returncode == 0
    r = subprocess.run([FIN, "serve", "--port", "0", "--canary", "10", "--duration", "1"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "needs a challenger" in r.stderr, r.stderr
    p, url, banner = _serve(tmp_path)
    try:
        assert "champion v1 on" in banner and "challenger" not in banner
        r = requests.post(f"{url}/invocations", json={"instances": [[2.0, 9.0]]}, timeout=10)
        assert r.status_code == 200 and r.json() == {"predictions": [{"anomaly_score": 2.0, "is_anomaly": False}]}
        assert requests.get(f"{url}/ping", timeout=10).status_code == 200
        assert requests.post(f"{url}/invocations", data="not json", headers={"Content-Type": "application/json"}, timeout=10).status_code == 400
    finally:
        stopped = _stop(p)
    assert stopped["logged"] == 2
