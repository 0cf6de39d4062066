"""The documentation site a reader can open here: `make docs` without Quarto builds plain HTML from nbdev's processed
notebooks (scripts/make_docs.py --plain), and headless Chromium opens its index and a module page. The sidebar lists
every numbered notebook in its order, a module page shows its API docs (from `show_doc`) and its committed outputs,
its charts are drawn by the plotly.js shipped beside the pages, and nothing is fetched from the network."""
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from browser import chromium_page

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
SITE = ROOT / "_docs"


def test_plain_docs_site_in_headless_chromium(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts/make_docs.py"), "--plain"], cwd=ROOT, capture_output=True,
                       text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    numbered = sorted(p.stem for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))
    for stem in numbered: assert (SITE / f"{stem}.html").exists(), stem
    with chromium_page(tmp_path / "profile") as cdp:
        cdp.send("Network.enable")
        cdp.send("Page.navigate", url=(SITE / "index.html").as_uri())
        cdp.wait_for("document.readyState === 'complete'")
        nav = cdp.evaluate("[...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
        links = [Path(h).stem for h in nav if re.match(r"\d\d", Path(h).stem)]
        assert links == numbered, links                                   # the sidebar is the numbered notebooks, in order
        title = cdp.evaluate("document.querySelector('h1').textContent")
        assert title == "financial-ai-mlops", title
        cdp.screenshot(ARTIFACTS / "docs-index.png")
        # a module page: its API docs and its committed tournament chart, drawn offline
        cdp.send("Page.navigate", url=(SITE / "42_models.model_tournament.html").as_uri())
        cdp.wait_for("document.readyState === 'complete'")
        page = cdp.wait_for("""(() => { const plots = [...document.querySelectorAll('.plot')];
            const drawn = plots.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg'));
            return plots.length && drawn.length === plots.length ? {plots: drawn.length,
              api: [...document.querySelectorAll('main h3')].map(h => h.textContent.replace('¶', '').trim()),
              tables: document.querySelectorAll('main table').length,
              current: document.querySelector('nav a.current').getAttribute('href')} : null; })()""")
        time.sleep(0.3)
        shot = cdp.screenshot(ARTIFACTS / "docs-model_tournament.png")
        requests = [e["params"]["request"]["url"] for e in cdp.events if e["method"] == "Network.requestWillBeSent"]
        errors = cdp.errors()
    assert errors == [], json.dumps(errors, indent=1)[:3000]
    assert page["plots"] >= 1 and page["tables"] >= 1, page
    assert {"ModelTournament", "rank_results", "robust_zscore"} <= set(page["api"]), page["api"]
    assert page["current"] == "42_models.model_tournament.html", page
    assert all(u.startswith(("file://", "data:")) for u in requests), [u for u in requests if not u.startswith("file://")]
    assert shot.stat().st_size > 30_000
