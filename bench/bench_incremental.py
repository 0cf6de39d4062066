"""Cost that follows new data, not history: ten simulated days through the local pipeline (landing -> bronze ->
silver -> gold) and scoring, one day at a time, each step timed; beside it, in the same run, what the old shape
costs on the same data (gold recomputed from all of silver with the Spark windows, and scoring's anti join of all of
gold against all of scored_trades) on the first and the last day.

    flock /tmp/spark.lock .venv/bin/python bench/bench_incremental.py             # about 15 minutes on two cores
    flock /tmp/spark.lock .venv/bin/python bench/bench_incremental.py --days 3 --trades 50000   # a smoke run

Prints a markdown table per day and a summary (the ratio of the last day's cost to the first's, rows per second
of each stage and the capacity plan's inputs), and writes bench/out/bench_incremental.json.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd


def champion_from_day_one(cfg):
    "A LightGBM champion trained on day one's gold as the retraining job would (hindsight labels), registered with its aliases."
    import mlflow
    from financial_transactions.features.feature_engineering import FeatureEngineer
    from financial_transactions.features.feature_store_manager import training_sets
    from financial_transactions.models.base_model import LightGBMModel
    from financial_transactions.models.custom_model import log_custom_model
    from financial_transactions.models.registry import register_model, set_alias
    from financial_transactions.runtime import read_table, setup_mlflow
    gold = read_table(cfg.table("gold_features"), config=cfg)
    train, _, _, _ = training_sets(gold, cfg)
    model = LightGBMModel(FeatureEngineer.feature_columns, params={"n_estimators": 100}, alert_budget=cfg.models.alert_budget).fit(train)
    mlflow.set_experiment(experiment_id=setup_mlflow(cfg))
    with mlflow.start_run():
        uri = log_custom_model(model, train).model_uri
    v = register_model(cfg, uri, {"feature_columns": FeatureEngineer.feature_columns, "threshold": float(model.threshold),
                                  "train_set_version": 0, "feature_table_version": 0})
    set_alias(cfg, "champion", v)


def old_gold_seconds(cfg, spark) -> float:
    "The old shape: gold recomputed from all of silver with the Spark windows (to Spark's noop sink: the transform only)."
    from financial_transactions.dlt.gold_features import gold_features
    from financial_transactions.runtime import read_spark_table
    t = time.perf_counter()
    gold_features(read_spark_table(cfg.table("silver_trades"), config=cfg), cfg).write.format("noop").mode("overwrite").save()
    return time.perf_counter() - t


def old_scoring_read_seconds(cfg) -> float:
    "The old shape's read: all of gold, anti-joined on the row key against all of scored_trades."
    from financial_transactions.runtime import read_table
    t = time.perf_counter()
    gold = read_table(cfg.table("gold_features"), config=cfg)
    done = read_table(cfg.table("scored_trades"), columns=["trade_id"], config=cfg).drop_duplicates()
    gold.merge(done.assign(_d=True), on="trade_id", how="left").query("_d != _d")
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=10, help="simulated days, landed one at a time")
    ap.add_argument("--trades", type=int, default=200_000, help="trades per simulated day")
    ap.add_argument("--out", default="bench/out/bench_incremental.json")
    a = ap.parse_args(argv)
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp(prefix="bench-incremental-")
    from financial_transactions.dlt.pipeline_runner import run_pipeline
    from financial_transactions.monitoring.scoring import score_new_trades
    from financial_transactions.runtime import get_spark, landing_path, load_project_config, stop_spark, table_count
    from financial_transactions.streaming.collector import land_trades
    from financial_transactions.streaming.market_simulator import MarketSimulator
    cfg = load_project_config("local")
    spark = get_spark(cfg)
    rows, old = [], {}
    # consecutive days ending yesterday (silver refuses trades from the future)
    start = pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=a.days + 1) + pd.Timedelta(hours=14, minutes=30)
    for d in range(a.days):
        sim = cfg.simulator.model_copy(update={"seed": cfg.simulator.seed + d})
        mkt = MarketSimulator(sim, cfg.ingestion.symbols).generate(a.trades, start=start + pd.Timedelta(days=d))
        land_trades(mkt.trades, landing_path(cfg, "finnhub") / f"day{d:02d}", f"day{d:02d}")
        t0 = time.perf_counter()
        r = run_pipeline(cfg, spark=spark)
        pipe = time.perf_counter() - t0
        if d == 0: champion_from_day_one(cfg)
        t1 = time.perf_counter()
        s = score_new_trades(cfg, engine="auto", alert=False)
        score = time.perf_counter() - t1
        g = r["gold"]
        rows.append({"day": d + 1, "trades": len(mkt.trades), "silver_total": r["counts"]["silver_trades"],
                     "pipeline_s": round(pipe, 2), "bronze_silver_s": round(pipe - g["seconds"], 2), "gold_s": g["seconds"],
                     "gold_rows": g["gold_rows"], "gold_mode": g["mode"], "scoring_s": round(score, 2), "scored": s.n_new,
                     "gold_rows_read_by_scoring": s.gold_rows_read, "scoring_engine": s.engine})
        print(rows[-1], flush=True)
        if d in (0, a.days - 1):
            old[d + 1] = {"spark_gold_full_recompute_s": round(old_gold_seconds(cfg, spark), 2),
                          "scoring_full_anti_join_read_s": round(old_scoring_read_seconds(cfg), 2),
                          "silver_rows": table_count(cfg.table("silver_trades"), config=cfg)}
            print(old[d + 1], flush=True)
    stop_spark()
    df = pd.DataFrame(rows)
    first, last = df.iloc[0], df.iloc[-1]
    # steady state: day 2 on (day 1 also compiles Spark's plans and warms the JVM)
    steady = df.iloc[1:] if len(df) > 1 else df
    summary = {
        "days": a.days, "trades_per_day": a.trades,
        "last_over_first_pipeline": round(last.pipeline_s / first.pipeline_s, 2),
        "last_over_second_pipeline": round(last.pipeline_s / df.iloc[min(1, len(df) - 1)].pipeline_s, 2),
        "last_over_first_gold": round(last.gold_s / first.gold_s, 2),
        "last_over_first_scoring": round(last.scoring_s / first.scoring_s, 2),
        "landing_to_gold_trades_per_s": round(steady.trades.sum() / steady.pipeline_s.sum()),
        "bronze_silver_trades_per_s": round(steady.trades.sum() / steady.bronze_silver_s.sum()),
        "gold_trades_per_s": round(steady.trades.sum() / steady.gold_s.sum()),
        "scoring_rows_per_s": round(steady.scored.sum() / steady.scoring_s.sum()),
        "old_shape": old,
        "old_over_new_gold_last_day": round(old[a.days]["spark_gold_full_recompute_s"] / last.gold_s, 1) if a.days in old else None,
    }
    print(df.to_string(index=False))
    print(json.dumps(summary, indent=1))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"days": rows, "summary": summary}, indent=1, default=str))


if __name__ == "__main__":
    main()
