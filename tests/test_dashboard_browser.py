"""The dashboard in a real browser: headless Chromium, driven over the Chrome DevTools protocol, loads the page that
`DashboardServer` serves on 127.0.0.1 from a lakehouse holding a whole story (every section has data, one symbol is an
XSS payload). The page must load without a console error, draw its plotly charts, show the payload as text (no <img>
element, no alert dialog), and a screenshot is saved to tests/artifacts/dashboard.png.
"""
import json
import tempfile
import time
from pathlib import Path

from browser import chromium_page

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
XSS = "<img src=x onerror=alert(1)>"


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
    from financial_transactions.dashboard.export import export_dashboard_metrics
    from financial_transactions.dashboard.server import DashboardServer
    cfg = _story(tmp_path / "lakehouse", monkeypatch)
    meta = export_dashboard_metrics(cfg, tmp_path / "data")
    assert all(s["available"] for s in meta["sections"].values()), meta["sections"]
    srv = DashboardServer(tmp_path / "data", ROOT / "dashboard", port=0, refresh_seconds=30).start()
    try:
        with chromium_page(tmp_path / "chromium-profile") as cdp:
            cdp.send("Page.navigate", url=srv.url)
            cdp.wait_for("Number(document.body && document.body.dataset.loaded || 0) >= 1")
            # every chart container became a plotly plot with its SVG (13 charts in 9 sections)
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
            out = cdp.screenshot(ARTIFACTS / "dashboard.png")
            print(f"dashboard screenshot: {out}")
            errors, dialogs = cdp.errors(), cdp.dialogs()
    finally: srv.stop()
    assert errors == [], json.dumps(errors, indent=1)[:4000]
    assert dialogs == [], dialogs
    assert checks["imgs"] == 0, checks            # the payload never became an element
    assert checks["tableCells"] >= 2, checks      # shown as text in the tables (anomalies, ...)
    assert checks["chartLabels"] >= 1, checks     # and as text in the chart labels
    assert checks["empty"] == [], checks          # every section drew
    assert checks["kpis"] == 9 and checks["status"].startswith("updated"), checks
    assert n_charts == 13
    assert out.stat().st_size > 50_000
