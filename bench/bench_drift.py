"""DriftDetector beside evidently's DataDriftPreset: 20 features, 500,000 reference rows against 500,000 current rows.

    .venv/bin/python bench/bench_drift.py              # creates bench/.venv-evidently on first use (a minute or two)
    .venv/bin/python bench/bench_drift.py --rows 100000

evidently 0.7 does not import with pandas 3 (this project's pandas), so it runs in its own virtual environment
(bench/.venv-evidently, gitignored: evidently==0.7.*, pandas<3, pyarrow) as a subprocess, on the same data written
to parquet. Both are timed on the computation only (data already in memory as pandas); the script prints both
times, their ratio, and which features each flags. The data: 14 unchanged features (normal, log-normal, uniform,
one Student t with 3 degrees of freedom), two normal features shifted by half a standard deviation, one normal
feature whose spread grows by 30 %, and the case the issue asks about: a Student t (3 dof) feature shifted by 0.5.
evidently runs twice: its default (for numeric columns of this size, the normed Wasserstein distance) and with
`method="psi"`, the statistic DriftDetector computes, binned its way (equal-width bins over both windows).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
VENV = ROOT / "bench" / ".venv-evidently"
EXPECTED = {"f14_normal_shift", "f15_normal_shift", "f16_t3_shift", "f18_normal_wider"}
HEAVY = "f16_t3_shift"

EVIDENTLY_RUNNER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pandas as pd
t0 = time.perf_counter()
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
t_import = time.perf_counter() - t0
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
dd = DataDefinition(numerical_columns=list(ref.columns))
out = {"import_s": t_import, "versions": {"evidently": __import__("evidently").__version__, "pandas": pd.__version__}}
for label, method in [("default", None), ("psi", "psi")]:
    times = []
    for _ in range(int(sys.argv[3])):
        t = time.perf_counter()
        snap = Report([DataDriftPreset(method=method)]).run(current_data=Dataset.from_pandas(cur, data_definition=dd),
                                                           reference_data=Dataset.from_pandas(ref, data_definition=dd))
        times.append(time.perf_counter() - t)
    cols = {}
    for m in snap.dict()["metrics"]:
        c = m["config"]
        if c.get("type", "").endswith("ValueDrift"):
            cols[c["column"]] = {"value": float(m["value"]), "threshold": c["threshold"], "method": c["method"],
                                 "drift": float(m["value"]) >= c["threshold"]}
    out[label] = {"seconds": min(times), "all_seconds": times, "columns": cols}
print(json.dumps(out))
"""


def make_data(n: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    def window(shifted: bool):
        cols = {}
        for i in range(10): cols[f"f{i:02d}_normal"] = rng.normal(i, 1 + i / 10, n)
        for i in range(10, 14): cols[f"f{i:02d}_lognormal"] = rng.lognormal(0, 0.5 + (i - 10) / 4, n)
        cols["f14_normal_shift"] = rng.normal(0, 1, n) + (0.5 if shifted else 0)
        cols["f15_normal_shift"] = rng.normal(10, 2, n) + (1.0 if shifted else 0)      # half a standard deviation
        cols["f16_t3_shift"] = rng.standard_t(3, n) + (0.5 if shifted else 0)
        cols["f17_t3"] = rng.standard_t(3, n)
        cols["f18_normal_wider"] = rng.normal(0, 1.3 if shifted else 1.0, n)
        cols["f19_uniform"] = rng.uniform(0, 1, n)
        return pd.DataFrame(cols)
    return window(False), window(True)


def ensure_evidently_env() -> Path:
    py = VENV / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import evidently"], capture_output=True).returncode == 0: return py
    print(f"creating {VENV} with evidently==0.7.* and pandas<3 ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "evidently==0.7.*", "pandas<3", "pyarrow"], check=True)
    return py


def run_ours(ref: pd.DataFrame, cur: pd.DataFrame, repeats: int, threads: int):
    from financial_transactions.config import DriftConfig
    from financial_transactions.monitoring.drift_detector import DriftDetector
    det = DriftDetector(DriftConfig(), threads=threads)
    det.compute(ref.head(1000), cur.head(1000))                 # warm-up (imports, thread pool)
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); res = det.compute(ref, cur); times.append(time.perf_counter() - t)
    return min(times), times, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=500_000, help="rows per window (default 500,000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each, best kept (default 3)")
    a = ap.parse_args(argv)
    ref, cur = make_data(a.rows)
    OUT.mkdir(parents=True, exist_ok=True)
    rp, cp = OUT / "drift_reference.parquet", OUT / "drift_current.parquet"
    ref.to_parquet(rp); cur.to_parquet(cp)
    print(f"{ref.shape[1]} features, {len(ref):,} reference rows vs {len(cur):,} current rows")

    best, times, res = run_ours(ref, cur, a.repeats, threads=2)
    best1, _, _ = run_ours(ref, cur, a.repeats, threads=1)
    ours_flag = set(res[res.verdict == "alert"].feature)

    py = ensure_evidently_env()
    r = subprocess.run([str(py), "-c", EVIDENTLY_RUNNER, str(rp), str(cp), str(a.repeats)], capture_output=True, text=True)
    if r.returncode != 0: sys.exit(f"evidently failed:\n{r.stderr[-3000:]}")
    ev = json.loads(r.stdout.strip().splitlines()[-1])
    ev_def = {c for c, v in ev["default"]["columns"].items() if v["drift"]}
    ev_psi = {c for c, v in ev["psi"]["columns"].items() if v["drift"]}

    h = res.set_index("feature").loc[HEAVY]
    print(f"\nDriftDetector (PSI + JS, quantile bins), 2 threads: {best:.3f} s (runs: {', '.join(f'{t:.3f}' for t in times)}); 1 thread: {best1:.3f} s")
    print(f"evidently {ev['versions']['evidently']} DataDriftPreset, default tests: {ev['default']['seconds']:.2f} s; "
          f"method='psi': {ev['psi']['seconds']:.2f} s  (import {ev['import_s']:.1f} s, not counted)")
    print(f"speed-up vs evidently default: {ev['default']['seconds'] / best:.0f}x; vs evidently psi: {ev['psi']['seconds'] / best:.0f}x")
    print(f"\nexpected drifted: {sorted(EXPECTED)}")
    print(f"DriftDetector flags:            {sorted(ours_flag)}")
    print(f"evidently default flags:        {sorted(ev_def)}")
    print(f"evidently psi flags:            {sorted(ev_psi)}")
    evp, evd = ev["psi"]["columns"][HEAVY], ev["default"]["columns"][HEAVY]
    print(f"\nheavy-tailed shift ({HEAVY}, Student t 3 dof + 0.5):")
    print(f"  DriftDetector: PSI {h.psi:.3f}, JS {h.js:.3f} -> {h.verdict}  ({'flagged' if HEAVY in ours_flag else 'MISSED'})")
    print(f"  evidently psi (equal-width bins): {evp['value']:.3f} vs threshold {evp['threshold']} -> {'flagged' if evp['drift'] else 'MISSED'}")
    print(f"  evidently default ({evd['method']}): {evd['value']:.3f} vs threshold {evd['threshold']} -> {'flagged' if evd['drift'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
