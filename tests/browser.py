"""Headless Chromium for the browser tests: started on a free DevTools port with a fresh profile, one page driven over
the Chrome DevTools protocol (navigate, evaluate, wait, screenshot), every console error and dialog on record."""
import base64
import json
import shutil
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "--window-size=1400,1000"]


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

    def errors(self) -> list:
        "The console errors, uncaught exceptions and error log entries seen so far."
        return [e for e in self.events if (e["method"] == "Runtime.exceptionThrown")
                or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]

    def dialogs(self) -> list: return [e for e in self.events if e["method"] == "Page.javascriptDialogOpening"]

    def screenshot(self, path: Path, width: int = 1400) -> Path:
        "A full-page PNG of the current page."
        h = self.evaluate("document.documentElement.scrollHeight")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=int(h), deviceScaleFactor=1, mobile=False)
        time.sleep(0.8)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


@contextmanager
def chromium_page(profile: Path):
    "A headless Chromium with a fresh profile in `profile`, and a `DevTools` client of its page (Page, Runtime, Log enabled)."
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: this test needs a headless Chromium. Run scripts/ensure_test_deps.sh "
                    "(make test does) or install the 'chromium' package.", pytrace=False)
    browser = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cdp = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()) and time.monotonic() < deadline: time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        cdp = DevTools(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"): cdp.send(f"{domain}.enable")
        cdp.send("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        yield cdp
    finally:
        if cdp:
            try: cdp.send("Browser.close")
            except Exception: pass
            cdp.close()
        try: browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill(); browser.wait()
