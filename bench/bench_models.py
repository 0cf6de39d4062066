"""Models figures: the tournament's wall time on the default training set, and the served pyfunc beside the raw
LightGBM / XGBoost boosters on the same rows (single-row p50/p99 latency, rows per second in batches of 10,000).

    .venv/bin/python bench/bench_models.py             # about two minutes on two cores
    .venv/bin/python bench/bench_models.py --quick     # smaller sets, fewer repetitions (a smoke run)

The pyfunc adds MLflow's schema enforcement and the feature checks of `CustomModel` (columns present and numeric,
missing values filled with training medians) to the booster's own prediction: the ratios say what that costs.
"""
import argparse
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def pct(xs, q): return float(np.percentile(xs, q))


def single_row(fn, rows, n):
    "Latencies in ms of `fn` on `n` single rows (one warm-up call first)."
    fn(rows[0]); out = []
    for i in range(n):
        r = rows[i % len(rows)]
        t0 = time.perf_counter(); fn(r); out.append((time.perf_counter() - t0) * 1000)
    return out


def throughput(fn, batches, repeat):
    "Rows per second of `fn` over `batches`, best of `repeat` passes."
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for b in batches: fn(b)
        best = min(best, time.perf_counter() - t0)
    return sum(len(b) for b in batches) / best


def main(quick: bool = False):
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp()
    import mlflow
    from financial_transactions.features.feature_engineering import FeatureEngineer
    from financial_transactions.models.base_model import LightGBMModel, XGBoostModel
    from financial_transactions.models.custom_model import log_custom_model
    from financial_transactions.runtime import setup_mlflow
    from financial_transactions.features.simulated_sets import simulated_train_test
    from financial_transactions.models.model_tournament import ModelTournament, training_rows
    from financial_transactions.runtime import load_project_config

    cfg = load_project_config("dev")
    setup_mlflow(cfg)
    n_trades = 60_000 if quick else cfg.simulator.n_trades
    t0 = time.perf_counter()
    train, test = simulated_train_test(cfg, n_trades=n_trades)
    build = time.perf_counter() - t0
    cap = cfg.models.max_train_rows
    train = training_rows(train, cap)       # what the training job fits on
    print(f"sets: {n_trades:,} simulated trades -> train {len(train):,} rows ({int(train.label.sum())} anomalies), "
          f"test {len(test):,} ({int(test.label.sum())}) in {build:.1f} s")

    # 1. the tournament, as the nightly job runs it (logging every candidate and its pyfunc to MLflow)
    t0 = time.perf_counter()
    res = ModelTournament(cfg).run(train, test)
    wall = time.perf_counter() - t0
    print(f"\ntournament wall time: {wall:.1f} s (winner {res.winner.name})")
    print(res.comparison()[["rank", "model", "average_precision", "roc_auc", "precision_at_k", "train_seconds", "score_seconds"]]
          .round(4).to_string(index=False))

    # 2. pyfunc vs raw booster on the same rows
    feats = FeatureEngineer.feature_columns
    n_single, repeat = (200, 1) if quick else (1000, 3)
    pool = pd.concat([test] * max(1, int(np.ceil(100_000 / len(test)))), ignore_index=True).iloc[: (20_000 if quick else 100_000)]
    batches = [pool.iloc[i:i + 10_000] for i in range(0, len(pool), 10_000)]
    Xb = [b[feats].to_numpy(np.float64) for b in batches]
    singles = [pool.iloc[[i]] for i in range(500)]
    Xs = [s[feats].to_numpy(np.float64) for s in singles]
    rows = []
    for name, model in (("lightgbm", res.models.get("lightgbm")), ("xgboost", res.models.get("xgboost"))):
        if model is None: model = (LightGBMModel if name == "lightgbm" else XGBoostModel).from_config(cfg, feats).fit(train)
        with mlflow.start_run(run_name=f"bench-{name}"):
            uri = log_custom_model(model, train).model_uri
        pyf = mlflow.pyfunc.load_model(uri)
        if name == "lightgbm": raw = model.model_.booster_.predict                       # probabilities, like predict_proba
        else: raw = model.model_.get_booster().inplace_predict                            # probabilities (binary:logistic)
        assert np.allclose(pyf.predict(batches[0]).anomaly_score.to_numpy(), raw(Xb[0]), rtol=0, atol=1e-6)
        lat_p, lat_r = single_row(pyf.predict, singles, n_single), single_row(raw, Xs, n_single)
        thr_p, thr_r = throughput(pyf.predict, batches, repeat), throughput(raw, Xb, repeat)
        rows.append({"model": name, "pyfunc p50 ms": pct(lat_p, 50), "pyfunc p99 ms": pct(lat_p, 99),
                     "raw p50 ms": pct(lat_r, 50), "raw p99 ms": pct(lat_r, 99),
                     "pyfunc rows/s": thr_p, "raw rows/s": thr_r, "throughput ratio": thr_p / thr_r})
    t = pd.DataFrame(rows)
    print(f"\npyfunc vs raw booster: single-row latency over {n_single} calls, throughput in batches of 10,000 "
          f"({len(pool):,} rows, best of {repeat})")
    print(t.round(3).to_string(index=False))
    return wall, t


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sets and fewer repetitions")
    main(ap.parse_args().quick)
