"""The dashboard in a real browser: headless Chromium, driven over the Chrome DevTools protocol, loads the page that
`DashboardServer` serves on 127.0.0.1 from a lakehouse holding a whole story (every section has data, one symbol is an
XSS payload). The page must load without a console error, draw its plotly charts, show the payload as text (no <img>
element, no alert dialog), and a screenshot is saved to tests/artifacts/dashboard.png.
"""
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
XSS = "<img src=x onerror=alert(1)>"


class DevTools:
    "A minimal Chrome DevTools protocol client over one page's WebSocket: commands, and the events seen so far."

    def __init__(self, ws_url: str):
        import websocket
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id, self.events = 0, []

    def send(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg: raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == "Page.javascriptDialogOpening":  # never leave a dialog open: it blocks the page
                    self.ws.send(json.dumps({"id": 10**6 + len(self.events), "method": "Page.handleJavaScriptDialog", "params": {"accept": True}}))

    def evaluate(self, expression: str):
        r = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r: raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = self.evaluate(expression)
            if v: return v
            time.sleep(0.2)
        raise TimeoutError(f"timed out waiting for {expression}")

    def close(self): self.ws.close()


def _story(lakehouse: Path, monkeypatch):
    "Every section of the dashboard with data: the demo tables, a tournament run, live performance and gateway traffic."
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(lakehouse))
    import mlflow
    import pandas as pd
    import pyarrow as pa
    from financial_transactions.dashboard.demo import write_demo_tables
    from financial_transactions.runtime import load_project_config, setup_mlflow, write_table
    from financial_transactions.serving.gateway import INFERENCE_LOG_SCHEMA
    cfg = load_project_config("dev")
    write_demo_tables(cfg)
    mlflow.set_experiment(experiment_id=setup_mlflow(cfg))
    comp = pd.DataFrame({"rank": [1, 2, 3, 0], "model": ["lightgbm", "xgboost", "isolation_forest", "robust_zscore"],
                         "average_precision": [0.62, 0.58, 0.21, 0.12], "roc_auc": [0.93, 0.91, 0.74, 0.66],
                         "precision": [0.55, 0.52, 0.2, 0.1], "recall": [0.48, 0.5, 0.3, 0.2], "precision_at_k": [0.6, 0.57, 0.22, 0.11],
                         "train_seconds": [2.1, 3.4, 1.2, 0.1]})
    with mlflow.start_run(run_name="tournament"):
        mlflow.set_tags({"winner": "lightgbm", "primary_metric": "average_precision"})
        d = Path(tempfile.mkdtemp()); comp.to_csv(d / "comparison.csv", index=False); mlflow.log_artifact(str(d / "comparison.csv"))
    now = pd.Timestamp.now(tz="UTC").floor("s")
    ends = [now - pd.Timedelta(minutes=m) for m in (120, 60, 0)]
    write_table(pd.DataFrame({"run_id": ["p1", "p2", "p3"], "window_end": ends, "model_version": ["1"] * 3, "n_scored": [500] * 3,
                              "n_labeled": [300] * 3, "precision": [0.6, 0.55, 0.4], "recall": [0.5, 0.5, 0.45],
                              "average_precision": [0.58, 0.52, 0.41], "status": ["ok", "ok", "degraded"]}), cfg.table("model_monitoring"))
    rows = [{"request_id": str(i), "request_key": f"acct-{i % 300}", "request_time": now - pd.Timedelta(seconds=3 * i), "endpoint": "fin-anomaly-dev",
             "served_entity": "challenger" if i % 10 == 0 else "champion", "model_version": "2" if i % 10 == 0 else "1",
             "status_code": 400 if i % 97 == 0 else 200, "duration_ms": 3.0 + (i % 13) * 0.4, "n_rows": 1, "n_anomalies": int(i % 50 == 0),
             "request": "{}", "response": "{}", "error": f"column 'f1' must be numeric ({XSS})" if i % 97 == 0 else None} for i in range(600)]
    write_table(pa.Table.from_pylist(rows, schema=INFERENCE_LOG_SCHEMA), cfg.table("inference_log"))
    return cfg


def test_dashboard_in_headless_chromium(tmp_path, monkeypatch):
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: this test needs a headless Chromium. Run scripts/ensure_test_deps.sh "
                    "(make test does) or install the 'chromium' package.", pytrace=False)
    from financial_transactions.dashboard.export import export_dashboard_metrics
    from financial_transactions.dashboard.server import DashboardServer
    cfg = _story(tmp_path / "lakehouse", monkeypatch)
    meta = export_dashboard_metrics(cfg, tmp_path / "data")
    assert all(s["available"] for s in meta["sections"].values()), meta["sections"]

    profile = tmp_path / "chromium-profile"
    srv = DashboardServer(tmp_path / "data", ROOT / "dashboard", port=0, refresh_seconds=30).start()
    browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
                                "--remote-debugging-port=0", "--window-size=1400,1000", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cdp = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline: time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        cdp = DevTools(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"): cdp.send(f"{domain}.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        cdp.send("Page.navigate", url=srv.url)
        cdp.wait_for("Number(document.body && document.body.dataset.loaded || 0) >= 1")
        # every chart container became a plotly plot with its SVG (12 charts in 9 sections)
        n_charts = cdp.wait_for("""(() => { const boxes = [...document.querySelectorAll('.chart')];
                                   const drawn = boxes.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg'));
                                   return boxes.length && drawn.length === boxes.length ? drawn.length : 0; })()""")
        time.sleep(0.5)  # let late errors surface
        checks = cdp.evaluate(f"""(() => {{
            const xss = {json.dumps(XSS)};
            const texts = [...document.querySelectorAll('td, .js-plotly-plot text')].map(n => n.textContent);
            return {{ imgs: document.querySelectorAll('img').length,
                      tableCells: [...document.querySelectorAll('td')].filter(n => n.textContent === xss).length,
                      chartLabels: [...document.querySelectorAll('.js-plotly-plot text')].filter(n => n.textContent.includes(xss)).length,
                      anywhere: texts.some(t => t.includes(xss)),
                      empty: [...document.querySelectorAll('.panel.empty')].map(p => p.id),
                      kpis: document.querySelectorAll('.kpi').length,
                      status: document.getElementById('status-text').textContent }}; }})()""")
        # a full-page screenshot
        h = cdp.evaluate("document.documentElement.scrollHeight")
        cdp.send("Emulation.setDeviceMetricsOverride", width=1400, height=int(h), deviceScaleFactor=1, mobile=False)
        time.sleep(0.8)
        shot = cdp.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        import base64
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        out = ARTIFACTS / "dashboard.png"
        out.write_bytes(base64.b64decode(shot["data"]))
        print(f"dashboard screenshot: {out}")

        errors = [e for e in cdp.events if (e["method"] == "Runtime.exceptionThrown")
                  or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                  or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        dialogs = [e for e in cdp.events if e["method"] == "Page.javascriptDialogOpening"]
        assert errors == [], json.dumps(errors, indent=1)[:4000]
        assert dialogs == [], dialogs
        assert checks["imgs"] == 0, checks            # the payload never became an element
        assert checks["tableCells"] >= 2, checks      # shown as text in the tables (anomalies, ...)
        assert checks["chartLabels"] >= 1, checks     # and as text in the chart labels
        assert checks["empty"] == [], checks          # every section drew
        assert checks["kpis"] == 9 and checks["status"].startswith("updated"), checks
        assert n_charts == 12
        assert out.stat().st_size > 50_000
    finally:
        if cdp:
            try: cdp.send("Browser.close")
            except Exception: pass
            cdp.close()
        try: browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill(); browser.wait()
        srv.stop()
