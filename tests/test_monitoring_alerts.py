"""AlertManager against a real HTTP webhook on loopback (a plain http.server written here, independent of the package's
LocalWebhook): 200 delivers, 500 is retried then audited as failed, a server that never answers costs at most
(retries + 1) timeouts, and every alert gets an alerts_audit row. A dead webhook never raises."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from financial_transactions.config import default_config_path, load_config
from financial_transactions.monitoring.alert_manager import Alert, AlertManager


class Hook:
    def __init__(self):
        self.calls, self.release = [], threading.Event()
        hook = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a): pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.calls.append((self.path, body, self.headers.get("Content-Type")))
                if self.path == "/never":
                    hook.release.wait(20); return
                code = {"/ok": 200, "/err": 500, "/gone": 410}.get(self.path, 404)
                self.send_response(code); self.end_headers(); self.wfile.write(b"x")

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path): return f"http://127.0.0.1:{self.srv.server_address[1]}{path}"

    def close(self):
        self.release.set(); self.srv.shutdown(); self.srv.server_close()


@pytest.fixture
def hook():
    h = Hook(); yield h; h.close()


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(tmp_path))
    c = load_config(default_config_path(), env="local")
    c.monitoring.alerts.timeout_seconds, c.monitoring.alerts.retries, c.monitoring.alerts.backoff_seconds = 0.25, 2, 0.01
    return c


def audit(cfg):
    from financial_transactions.runtime import read_table
    return read_table(cfg.table("alerts_audit")).sort_values("ts", kind="stable").reset_index(drop=True)


def test_200_delivers_slack_json_once(cfg, hook):
    r = AlertManager(cfg, webhook_url=hook.url("/ok")).send(Alert("critical", "Feed down", "no trades", "feed", {"minutes": 10}))
    assert (r.status, r.attempts, r.http_status) == ("sent", 1, 200)
    path, body, ctype = hook.calls[0]
    assert ctype == "application/json" and body["text"].startswith(":rotating_light: [CRITICAL] Feed down")
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    assert audit(cfg).status.tolist() == ["sent"]


def test_500_is_retried_then_audited_as_failed(cfg, hook):
    r = AlertManager(cfg, webhook_url=hook.url("/err")).send(Alert("warning", "Drift", "x"))
    assert (r.status, r.attempts, r.http_status) == ("failed", 3, 500) and len(hook.calls) == 3
    row = audit(cfg).iloc[0]
    assert (row.status, row.attempts, row.http_status) == ("failed", 3, 500) and "HTTP 500" in row.error


def test_410_is_not_retried(cfg, hook):
    r = AlertManager(cfg, webhook_url=hook.url("/gone")).send(Alert("warning", "Drift", "x"))
    assert (r.status, r.attempts, r.http_status) == ("failed", 1, 410)


def test_a_webhook_that_never_answers_costs_bounded_time_and_never_raises(cfg, hook):
    t = time.perf_counter()
    r = AlertManager(cfg, webhook_url=hook.url("/never")).send(Alert("critical", "Scoring failed", "x"))
    elapsed = time.perf_counter() - t
    assert (r.status, r.attempts, r.http_status) == ("failed", 3, None) and "Timeout" in r.error
    assert 0.7 < elapsed < 10, elapsed     # three attempts of 0.25 s plus backoff and the first audit write, not 20 s
    assert audit(cfg).status.tolist() == ["failed"]


def test_every_alert_is_audited_including_suppressed_ones(cfg, hook):
    am = AlertManager(cfg, webhook_url=hook.url("/ok"))
    results = [am.send(Alert("warning", "Same", "x")) for _ in range(3)]
    assert [r.status for r in results] == ["sent", "suppressed", "suppressed"] and len(hook.calls) == 1
    assert audit(cfg).status.tolist() == ["sent", "suppressed", "suppressed"]


def test_url_comes_from_the_secret_and_is_never_stored(cfg, hook, monkeypatch):
    monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url("/err") + "?token=s3cr3t")
    r = AlertManager(cfg).send(Alert("critical", "x", "y"))
    assert r.status == "failed"
    assert not audit(cfg).astype(str).apply(lambda c: c.str.contains("s3cr3t|/err")).any().any()
