"""Gold on Spark as the Databricks pipeline builds it: the stateful streaming step (`gold_stream`,
`applyInPandasWithState` with each symbol's feature state in the checkpoint) day after day, beside the old
materialized view (`gold_features`, Spark windows over all of silver) on the same trades, in one run.

    flock /tmp/spark.lock .venv/bin/python bench/bench_gold_stream.py              # about 6 minutes on two cores
    flock /tmp/spark.lock .venv/bin/python bench/bench_gold_stream.py --days 2 --trades 20000   # a smoke run

Each day is one simulated session of the `dev` market, landed as parquet files of 50,000 trades (silver's rows: the
columns the step reads). The stream runs once per day from the same checkpoint (an update of the pipeline) and only
reads that day's files. The materialized view recomputes everything landed so far. Both write to Spark's noop sink,
so only the transform is timed. Prints a table and writes bench/out/bench_gold_stream.json.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def day_rows(cfg, n: int, day: int) -> pd.DataFrame:
    "Day `day` of the simulated market as silver's rows (trade id, session type, ingest time)."
    from financial_transactions.streaming.market_simulator import MarketSimulator
    start = (pd.Timestamp(cfg.simulator.start) + pd.Timedelta(days=day)).isoformat()
    sim = cfg.simulator.model_copy(update={"seed": cfg.simulator.seed + day})
    t = MarketSimulator(sim, cfg.ingestion.symbols).generate(n, start=start).trades
    ts = pd.to_datetime(t["t"].to_numpy(), unit="ms", utc=True).as_unit("us")
    return pd.DataFrame({"symbol": t["s"].to_numpy(), "ts": ts, "trade_id": [f"d{day}-{i:07d}" for i in range(len(t))],
                         "ts_ms": t["t"].to_numpy(np.int64), "price": t["p"].to_numpy(float), "volume": t["v"].to_numpy(float), "session_type": "regular",
                         "ingested_at": pd.Timestamp.now(tz="UTC").as_unit("us") + pd.to_timedelta(np.arange(len(t)), unit="us")})


def main(days: int = 4, trades: int = 200_000, file_rows: int = 50_000):
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp()
    from financial_transactions.dlt.gold_features import gold_features, gold_stream
    from financial_transactions.runtime import get_spark, load_project_config
    cfg = load_project_config("dev")
    spark = get_spark()
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    work = Path(tempfile.mkdtemp(prefix="bench-gold-stream-"))
    src = work / "silver"
    src.mkdir()
    schema, rows, landed = None, [], 0
    for d in range(days):
        df = day_rows(cfg, trades, d)
        for i in range(0, len(df), file_rows):
            df.iloc[i:i + file_rows].to_parquet(src / f"day{d:02d}-{i // file_rows:03d}.parquet", index=False)
        landed += len(df)
        schema = schema or spark.createDataFrame(df.head(1)).schema
        t0 = time.perf_counter()
        q = (gold_stream(spark.readStream.schema(schema).parquet(str(src)), cfg).writeStream.format("noop")
             .option("checkpointLocation", str(work / "checkpoint")).trigger(availableNow=True).start())
        q.awaitTermination()
        stream_s = time.perf_counter() - t0
        read = sum(p["numInputRows"] for p in q.recentProgress)
        silver = spark.read.schema(schema).parquet(str(src))
        t0 = time.perf_counter()
        gold_features(silver, cfg).write.format("noop").mode("overwrite").save()
        mv_s = time.perf_counter() - t0
        rows.append({"day": d + 1, "new trades": len(df), "silver so far": landed, "stream: rows read": read,
                     "stream s": round(stream_s, 1), "stream trades/s": round(len(df) / stream_s),
                     "materialized view s": round(mv_s, 1), "view / stream": round(mv_s / stream_s, 2)})
        print(rows[-1], flush=True)
    spark.stop()
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False))
    first, last = rows[0], rows[-1]
    summary = {"stream last / first day": round(last["stream s"] / first["stream s"], 2),
               "view last / first day": round(last["materialized view s"] / first["materialized view s"], 2),
               "stream trades/s after day 1": round(sum(r["new trades"] for r in rows[1:]) / sum(r["stream s"] for r in rows[1:]))
               if len(rows) > 1 else None}
    print("\n" + json.dumps(summary))
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "bench_gold_stream.json").write_text(json.dumps({"days": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=4, help="simulated days, landed and built one at a time (default 4)")
    ap.add_argument("--trades", type=int, default=200_000, help="trades a day (default 200,000, the dev market)")
    a = ap.parse_args()
    main(a.days, a.trades)
