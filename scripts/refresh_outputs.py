"""Execute notebooks and keep the outputs worth committing: tables, charts and short printed text.

The docs site renders the committed notebooks, so a chart that is only drawn when the notebook runs is never seen by
a reader. This runs each notebook the way the tests do (every cell, `spark` and `slow` ones too), then keeps, per
cell, what it displayed (plotly figures as their JSON, without the 4.9 MB plotly.js a notebook renderer would inject;
DataFrames as HTML; images) and what it printed to stdout, when that is small; stderr, errors and anything over
`--max-kb` are dropped. Then `nbdev-clean`. Review the diff before committing it.

    python scripts/refresh_outputs.py nbs/42_models.model_tournament.ipynb nbs/51_monitoring.drift_detector.ipynb
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEEP_MIME = ("application/vnd.plotly.v1+json", "text/html", "image/png", "text/markdown", "text/plain")


def keep(outputs: list, max_kb: float) -> list:
    "The outputs of one cell worth committing (empty if they are too big)."
    out = []
    for o in outputs:
        t = o.get("output_type")
        if t == "stream" and o.get("name") == "stdout": out.append(o)
        elif t in ("display_data", "execute_result"):
            data = o.get("data", {})
            if "application/vnd.plotly.v1+json" in data: data = {k: v for k, v in data.items() if k in ("application/vnd.plotly.v1+json", "text/plain")}
            elif "text/html" in data and "plotly" in str(data["text/html"])[:2000] and "text/plain" not in data: continue   # the library injection
            data = {k: v for k, v in data.items() if k in KEEP_MIME}
            if data: out.append({**o, "data": data, "metadata": {}, **({"execution_count": None} if t == "execute_result" else {})})
    return out if len(json.dumps(out)) <= max_kb * 1024 else []


def refresh(nb_path: Path, max_kb: float) -> int:
    "Run `nb_path` and write back the outputs kept; returns the number of cells with outputs."
    from fastcore.nbio import write_nb
    from execnb.shell import CaptureShell
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.test import _skip_cell   # the tests' rule for flagged cells, with every flag forced
    nb = NBProcessor(nb_path, rm_directives=False, process=True).nb
    os.environ.setdefault("FIN_MLOPS_LAKEHOUSE", tempfile.mkdtemp(prefix="outputs-"))
    sh = CaptureShell(nb_path)
    sh.run("import plotly.io as _pio; _pio.renderers.default = 'plotly_mimetype'")
    skip = _skip_cell(nb, get_config().tst_flags.split(), ["spark", "slow"])
    cwd = os.getcwd(); os.chdir(nb_path.parent)
    try: sh.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    n = 0
    for c in nb.cells:
        if c.cell_type != "code": continue
        hidden = any(d in c.source for d in ("#| export", "#| hide", "nbdev_export()"))
        c.outputs = [] if hidden else keep(c.get("outputs", []), max_kb)
        c.execution_count = None
        n += bool(c.outputs)
    write_nb(nb, nb_path)
    return n


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", help="notebooks to run and refresh")
    ap.add_argument("--max-kb", type=float, default=200, help="drop a cell's outputs when they are larger than this (default 200)")
    a = ap.parse_args()
    for p in a.notebooks:
        print(f"{p}: {refresh(Path(p).resolve(), a.max_kb)} cells with outputs", flush=True)
    subprocess.run([str(Path(sys.executable).parent / "nbdev-clean")], cwd=ROOT, check=True)
