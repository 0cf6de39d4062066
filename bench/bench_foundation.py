"""Foundation figures: SparkSession start-up, the table layer beside raw delta-rs, and `make run`'s wall time.

    .venv/bin/python bench/bench_foundation.py            # start-up and table layer (about a minute)
    .venv/bin/python bench/bench_foundation.py --main     # also time `fin-mlops run` (the main sequence) in a fresh lakehouse

The table layer adds a schema check and type normalisation to every delta-rs write, and reads through a dataset
that does not abort the interpreter at exit: the ratio says what that costs.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def spark_startup() -> float:
    code = ("import time, os; t=time.perf_counter(); from financial_transactions.runtime import get_spark, stop_spark; "
            "s=get_spark(); s.range(10).count(); print(time.perf_counter()-t); stop_spark()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "FIN_MLOPS_LAKEHOUSE": tempfile.mkdtemp()})
    return float(r.stdout.strip().splitlines()[-1])


def table_layer(n=1_000_000):
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp()
    from deltalake import DeltaTable, write_deltalake
    import pyarrow as pa
    import pyarrow.fs as pafs
    from financial_transactions.runtime import read_arrow, table_path, write_table
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"symbol": rng.choice(["AAPL", "MSFT", "NVDA"], n), "t": np.arange(n, dtype="int64"),
                       "p": rng.normal(100, 1, n), "v": rng.integers(1, 1000, n).astype("float64")})
    arrow = pa.Table.from_pandas(df, preserve_index=False)
    raw_dir = tempfile.mkdtemp()
    res = {}
    t = time.perf_counter(); write_deltalake(raw_dir, arrow, mode="append"); write_deltalake(raw_dir, arrow, mode="append")
    res["raw delta-rs: 2 appends"] = time.perf_counter() - t
    t = time.perf_counter(); write_table(df, "bench.b.t"); write_table(df, "bench.b.t")
    res["table layer: 2 appends"] = time.perf_counter() - t
    def best(f, k=3):
        times = []
        for _ in range(k):
            t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
        return min(times)
    fs = pafs.SubTreeFileSystem(raw_dir, pafs.LocalFileSystem())
    res["raw delta-rs: read"] = best(lambda: DeltaTable(raw_dir).to_pyarrow_dataset(filesystem=fs).to_table())
    res["table layer: read"] = best(lambda: read_arrow("bench.b.t"))
    assert table_path("bench.b.t").exists()
    return res


def main_run() -> float:
    t = time.perf_counter()
    r = subprocess.run([str(Path(sys.executable).parent / "fin-mlops"), "run"], cwd=ROOT,
                       env={**os.environ, "FIN_MLOPS_LAKEHOUSE": tempfile.mkdtemp()})
    assert r.returncode == 0
    return time.perf_counter() - t


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--main", action="store_true", help="also time the main sequence (fin-mlops run)")
    a = ap.parse_args()
    s = [spark_startup() for _ in range(2)]
    print(f"SparkSession start-up (fresh process, local[2]): {min(s):.1f} s (runs: {', '.join(f'{x:.1f}' for x in s)})")
    r = table_layer()
    for k, v in r.items(): print(f"{k:<28} {v:6.2f} s  (1,000,000 rows)")
    print(f"table layer / raw delta-rs: write {r['table layer: 2 appends'] / r['raw delta-rs: 2 appends']:.2f}x, "
          f"read {r['table layer: read'] / r['raw delta-rs: read']:.2f}x")
    if a.main: print(f"fin-mlops run (main sequence, after install): {main_run():.0f} s")
