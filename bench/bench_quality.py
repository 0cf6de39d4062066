"""Detection quality where the model has not been: the champion that `make run` would register, beside the robust
z-score baseline, on the simulator's holdout, on the shifted days of the simulated market and on the real-market
validation set (real OHLCV series of a large cap, FX, two indices and bitcoin, liquid and thin, with injected
anomalies; `features.real_markets`). Every figure is at the model's own operating point (the per-symbol alert
budget): average precision, precision and recall, the alert rate on normal trades (overall and the worst symbol),
recall per anomaly kind.

    .venv/bin/python bench/bench_quality.py            # about three minutes on two cores
    .venv/bin/python bench/bench_quality.py --quick    # a smaller market and fewer bars (a smoke run)
    .venv/bin/python bench/bench_quality.py --seeds 42-47   # how much the simulated market's seed moves the champion
    .venv/bin/python bench/bench_quality.py --seeds 42-47 --history-days 0   # gold of one day only (before market_history)

The champion is trained as the first retraining job of `make run` trains it: gold of two simulated days (the
market_history job's Friday, with half as many trades, and the ingestion job's Monday) through the feature code and the hindsight labels, the
split rule of `training_sets` (the holdout is the last quarter of gold's rows: Monday's last 37 %), the tournament
of `project_config.yml`, the winner on average precision. It never sees the shifted days or the real series. The simulator's sets are judged
against the simulator's ground truth (the trades it injected anomalies into), the labels a model cannot see.
"""
import argparse
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

TARGETS = {"average_precision": 0.8, "lift": 1.5, "alert_rate_normal": 0.01, "alert_rate_worst_symbol": 0.02}


def targets_met(ap, lift, alert_rate, worst_symbol) -> dict[str, bool]:
    "Whether the champion's figures on one set (rates as fractions) meet each target of the detection issue."
    t = TARGETS
    return {"AP": ap >= t["average_precision"], "lift": lift >= t["lift"], "alert rate": alert_rate <= t["alert_rate_normal"],
            "worst symbol": worst_symbol <= t["alert_rate_worst_symbol"]}


def history_share(cfg) -> float:
    "An earlier day's trades as a share of the ingestion day's: the market_history job's `n_trades` over `simulator.n_trades`."
    import yaml
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources", "market_history.yml")
    with open(path) as f: job = yaml.safe_load(f)["resources"]["jobs"]["market_history"]
    task = next(t for t in job["tasks"] if t["task_key"] == "collect_earlier_day")
    return int(task["notebook_task"]["base_parameters"].get("n_trades", cfg.simulator.n_trades)) / cfg.simulator.n_trades


def simulated_trades(cfg, n_trades, seed, start, shift):
    "One simulated day's trades with the simulator's ground truth (`truth`, `kind`)."
    from financial_transactions.streaming.market_simulator import MarketSimulator
    sim = cfg.simulator.model_copy(update={"seed": seed})
    mkt = MarketSimulator(sim, cfg.ingestion.symbols).generate(n_trades, start=start, regime_shift=shift)
    t = mkt.trades
    kind = np.full(len(t), "", dtype=object)
    kind[mkt.anomalies["trade_index"].to_numpy()] = mkt.anomalies["kind"].to_numpy()
    return pd.DataFrame({"symbol": t["s"], "ts": pd.to_datetime(t["t"], unit="ms", utc=True), "price": t["p"].astype(float),
                         "volume": t["v"].astype(float), "truth": mkt.is_anomaly.astype(int), "kind": kind})


def feature_rows(cfg, trades):
    "Trades as gold has them: the feature code and the hindsight `label`."
    from financial_transactions.features.feature_engineering import FeatureEngineer, label_anomalies
    return label_anomalies(FeatureEngineer(cfg).transform(trades), cfg)


def simulated_day(cfg, n_trades, seed, start, shift):
    "One simulated day as feature rows with the simulator's ground truth (`truth`, `kind`) and the hindsight `label`."
    return feature_rows(cfg, simulated_trades(cfg, n_trades, seed, start, shift))


def judge(model, df, label, adaptive):
    "Operating-point metrics of `model` on `df` against column `label` (adaptive per-symbol thresholds or the learned ones)."
    m = model.evaluate_unseen(df.assign(label=df[label].astype(int)), adaptive=adaptive)
    m["by_kind"] = {k[len("recall_"):]: v for k, v in m.items() if k.startswith("recall_") and k != "recall_"}
    m["flagged_share"] = m["flagged_rate"]
    return m


def robust_level_rule(cfg):
    "A reference, not a candidate: the largest of a reverting price distance, a volume distance and a burst, each over its training 99.9th percentile."
    from financial_transactions.models.base_model import BaseAnomalyModel

    class RobustLevelRule(BaseAnomalyModel):
        name, supervised = "robust_level_rule", False

        def _terms(self, X): return np.column_stack([X[:, 0], X[:, 1], -X[:, 2]])   # reverting, volume, -burst

        def _instant_twin(self, df): return None
        def _fit(self, X, y): self.model_ = np.maximum(np.quantile(self._terms(X), 0.999, axis=0), 1e-9)
        def _score(self, X): return (self._terms(X) / self.model_).max(axis=1)

    m = cfg.models
    return RobustLevelRule(["reverting", "volume_rdev", "burst_rdev"], alert_budget=m.alert_budget,
                           budget_window=m.budget_window, budget_min_history=m.budget_min_history)


def setup(quick: bool, confirm_seconds: float | None):
    "The config `make run` runs (with `confirm_seconds` if given) and the number of trades a simulated day has."
    os.environ["FIN_MLOPS_LAKEHOUSE"] = tempfile.mkdtemp()
    from financial_transactions.runtime import load_project_config
    cfg = load_project_config("dev")        # the env `make run` runs: ten symbols, 200,000 trades a day
    if confirm_seconds is not None:          # a time limit on the confirmation, for training and every set
        cfg = cfg.model_copy(update={"features": cfg.features.model_copy(update={"confirm_seconds": confirm_seconds})})
    return cfg, 60_000 if quick else cfg.simulator.n_trades


def simulated_sets(cfg, n, seed, labels, history_days: int = 1):
    """The training rows and the holdout of the training job's gold, and the two shifted days after it.
    Gold is `history_days` earlier trading days (markets of seeds `seed + 1000 j`, `j` business days before, each with
    `history_share(cfg)` of the day's trades; `make run` lands one, the market_history job's) and the ingestion job's day,
    one stream per symbol through the feature code;
    the split rule of `training_sets` puts the last quarter of its rows (the last 37 % of the day when one earlier
    day is in) in the holdout and trains on the rest."""
    from financial_transactions.features.feature_store_manager import training_sets
    from financial_transactions.models.model_tournament import training_rows
    start, share = pd.Timestamp(cfg.simulator.start), history_share(cfg)
    days = [simulated_trades(cfg, round(n * share), seed + 1000 * j, (start - pd.offsets.BDay(j)).strftime("%Y-%m-%dT%H:%M:%SZ"), 0.0)
            for j in range(history_days, 0, -1)] + [simulated_trades(cfg, n, seed, cfg.simulator.start, 0.0)]
    train, test, _, _ = training_sets(feature_rows(cfg, pd.concat(days, ignore_index=True)), cfg)
    train = training_rows(train, cfg.models.max_train_rows)       # what the training job fits on (load_train_test)
    if labels == "truth": train = train.assign(label=train["truth"])      # what the simulator knows, not the hindsight rule
    closes = "price_rdev_next" if cfg.features.confirm_seconds is None else "burst_rdev"   # NaN until the confirmation closed
    shifted = {f"shift {s:g}": simulated_day(cfg, n, seed, f"2026-11-2{3 + i}T14:30:00Z", s).dropna(subset=[closes])
               for i, s in enumerate((1.0, 2.0), 1)}
    return train, test, shifted


def fit_models(cfg, train, test):
    "The tournament of `project_config.yml` on `train` (judged on `test`), the robust z-score baseline and the reference rule."
    from financial_transactions.models.model_tournament import ModelTournament, RobustZScoreBaseline
    m = cfg.models
    res = ModelTournament(cfg, log_to_mlflow=False).run(train, test)
    base = RobustZScoreBaseline(m.baseline_window, m.alert_budget, m.top_k, budget_window=m.budget_window,
                                budget_min_history=m.budget_min_history).fit(train)
    return res, res.winner_model, base, robust_level_rule(cfg).fit(train)


def real_set(cfg, quick: bool):
    from financial_transactions.features.real_markets import real_market_set
    return real_market_set(max_bars=300 if quick else 1500).features(cfg)


def main(quick: bool = False, labels: str = "hindsight", seed: int | None = None, confirm_seconds: float | None = None,
         history_days: int = 1):
    cfg, n = setup(quick, confirm_seconds)
    m = cfg.models
    t0 = time.perf_counter()
    seed = cfg.simulator.seed if seed is None else seed
    train, test, shifted = simulated_sets(cfg, n, seed, labels, history_days)
    real = real_set(cfg, quick)
    print(f"sets in {time.perf_counter() - t0:.0f} s: train {len(train):,} rows, sim holdout {len(test):,} "
          f"({int(test.truth.sum())} injected), real {len(real):,} trades of {real.symbol.nunique()} symbols "
          f"({int(real.label.sum())} injected)")

    t0 = time.perf_counter()
    res, champ, base, rule = fit_models(cfg, train, test)
    print(f"tournament in {time.perf_counter() - t0:.0f} s: champion {champ.name} "
          f"({', '.join(f'{r.name} {r.metric(m.primary_metric):.3f}' for r in res.ranked)} on the hindsight labels)")

    sets = {"sim holdout": (test, "truth", False), **{k: (v, "truth", True) for k, v in shifted.items()},
            "real markets": (real, "label", True)}
    rows, kinds = [], []
    for set_name, (df, label, adaptive) in sets.items():
        for who, model in (("champion", champ), ("baseline", base), ("reference", rule)):
            q = judge(model, df, label, adaptive)
            rows.append({"set": set_name, "model": f"{who} ({model.name})", **{k: q[k] for k in (
                "average_precision", "precision", "recall", "alert_rate_normal", "alert_rate_worst_symbol", "flagged_share")},
                "injected_share": float(df[label].mean())})
            kinds += [{"set": set_name, "model": who, "kind": k, "recall": v} for k, v in q["by_kind"].items()]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print("\nat the operating point (alert budget %.2f %% of each symbol's trades):" % (100 * m.alert_budget))
    print(table.round(4).to_string(index=False))
    print("\nrecall by anomaly kind:")
    print(pd.DataFrame(kinds).pivot_table(index=["set", "kind"], columns="model", values="recall").round(3).to_string())

    t = TARGETS
    print(f"\ntargets (champion): AP >= {t['average_precision']:.1f} and >= {t['lift']:.1f}x the baseline; alert rate on normal "
          f"trades <= {100 * t['alert_rate_normal']:.0f} % overall, <= {100 * t['alert_rate_worst_symbol']:.0f} % worst symbol")
    for set_name in ("sim holdout", "real markets"):
        c, b = (table[(table.set == set_name) & table.model.str.startswith(w)].iloc[0] for w in ("champion", "baseline"))
        lift = c.average_precision / b.average_precision if b.average_precision > 0 else float("inf")
        checks = targets_met(c.average_precision, lift, c.alert_rate_normal, c.alert_rate_worst_symbol)
        print(f"  {set_name:13s} AP {c.average_precision:.3f} ({lift:.2f}x baseline {b.average_precision:.3f}), "
              f"alert rate {100 * c.alert_rate_normal:.2f} % (worst {100 * c.alert_rate_worst_symbol:.2f} %): "
              + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in checks.items()))
    h, limit = cfg.features.confirm_horizon, cfg.features.confirm_seconds
    print(f"\ninstant score (causal twin, on arrival) against the confirmed score (after the next {h} prints"
          + (f" or {limit:g} s, whichever is first" if limit else "") + "), champion:")
    from sklearn.metrics import average_precision_score
    for set_name, (df, label, _) in sets.items():
        wait = (df.groupby("symbol")["ts"].shift(-h) - df["ts"]).dt.total_seconds()
        cut = f", {100 * (wait.isna() | (wait > limit)).mean():.1f} % of the windows cut" if limit else ""
        wait = (wait.fillna(np.inf).clip(upper=limit) if limit else wait.dropna())   # the limit: the clock closes the window
        print(f"  {set_name:13s} AP instant {average_precision_score(df[label], champ.score_instant(df)):.3f}, "
              f"confirmed {average_precision_score(df[label], champ.score(df)):.3f}; the confirmation waits "
              f"p50 {wait.quantile(0.5):.3g} s, p99 {wait.quantile(0.99):.3g} s{cut}")
    print("\nflagged share of each simulated day against the injected rate (target: within 2x):")
    for set_name in ("sim holdout", *shifted):
        c = table[(table.set == set_name) & table.model.str.startswith("champion")].iloc[0]
        print(f"  {set_name:13s} flagged {100 * c.flagged_share:.3f} %, injected {100 * c.injected_share:.3f} % "
              f"({c.flagged_share / c.injected_share:.2f}x)")


def seed_list(text: str) -> list[int]:
    "`42-47` or `42,45,46` as a list of seeds."
    out = []
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try: out += list(range(int(lo), int(hi or lo) + 1))
        except ValueError: raise argparse.ArgumentTypeError(f"{part!r} is not a seed or a range of seeds such as 42-47") from None
    if not out: raise argparse.ArgumentTypeError("no seed given")
    return out


def sweep(seeds: list[int], quick: bool = False, labels: str = "hindsight", confirm_seconds: float | None = None,
          history_days: int = 1):
    "The champion against the targets at each seed of the simulated market (one real-market set): how much a seed moves it."
    cfg, n = setup(quick, confirm_seconds)
    t0 = time.perf_counter()
    real = real_set(cfg, quick)
    print(f"real-market set in {time.perf_counter() - t0:.0f} s: {len(real):,} trades of {real.symbol.nunique()} symbols; "
          f"{len(seeds)} seeds, each gold of {history_days + 1} simulated day(s) split into training rows and holdout, and two shifted days")
    rows = []
    for i, seed in enumerate(seeds, 1):
        t0 = time.perf_counter()
        train, test, shifted = simulated_sets(cfg, n, seed, labels, history_days)
        _, champ, base, _ = fit_models(cfg, train, test)
        row = {"seed": seed, "champion": champ.name, "holdout injected": int(test.truth.sum())}
        for set_name, (df, label, adaptive) in {"holdout": (test, "truth", False), **{k: (v, "truth", True) for k, v in shifted.items()},
                                                "real": (real, "label", True)}.items():
            c, b = judge(champ, df, label, adaptive), judge(base, df, label, adaptive)
            row[f"{set_name} AP"] = c["average_precision"]
            if set_name in ("holdout", "real"):
                row[f"{set_name} lift"] = c["average_precision"] / b["average_precision"] if b["average_precision"] > 0 else np.inf
                row[f"{set_name} alert %"] = 100 * c["alert_rate_normal"]
                row[f"{set_name} worst %"] = 100 * c["alert_rate_worst_symbol"]
            else: row[f"{set_name} flagged/injected"] = c["flagged_share"] / float(df[label].mean())
        rows.append(row)
        print(f"  [{i}/{len(seeds)}] seed {seed} in {time.perf_counter() - t0:.0f} s: champion {champ.name}, holdout AP "
              f"{row['holdout AP']:.3f}, real markets AP {row['real AP']:.3f}", flush=True)
    table = pd.DataFrame(rows).set_index("seed")
    num = table.drop(columns=["champion"])
    summary = pd.concat([num, num.mean().to_frame("mean").T, num.min().to_frame("min").T, num.max().to_frame("max").T])
    pd.set_option("display.width", 250); pd.set_option("display.max_columns", 30)
    print("\nthe champion at each seed (AP against the simulator's truth and the real set's injected labels; alert rates on normal trades):")
    print(summary.round(3).to_string())
    t = TARGETS
    print(f"\ntargets met, seeds of {len(table)} (AP >= {t['average_precision']:.1f}, lift >= {t['lift']:.1f}x, alert rate <= "
          f"{100 * t['alert_rate_normal']:.0f} %, worst symbol <= {100 * t['alert_rate_worst_symbol']:.0f} %):")
    for s in ("holdout", "real"):
        met = [targets_met(r[f"{s} AP"], r[f"{s} lift"], r[f"{s} alert %"] / 100, r[f"{s} worst %"] / 100) for _, r in table.iterrows()]
        print(f"  {'sim holdout' if s == 'holdout' else 'real markets':13s} " + ", ".join(f"{k} {sum(m[k] for m in met)}" for k in met[0]))
    days = [c[:-len(' flagged/injected')] for c in table.columns if c.endswith('flagged/injected')]
    within = [int((table[f"{k} flagged/injected"] <= 2).sum()) for k in days]
    print(f"  shifted days  flagged share within 2x of the injected rate: {', '.join(f'{k} {w}' for k, w in zip(days, within, strict=True))}")
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smaller market and fewer bars (a smoke run)")
    ap.add_argument("--labels", choices=("hindsight", "truth"), default="hindsight",
                    help="train on gold's hindsight labels (what the retraining job does) or on the simulator's ground truth")
    seed = ap.add_mutually_exclusive_group()
    seed.add_argument("--seed", type=int, default=None, help="the simulated market's seed (default: simulator.seed, the one make run uses)")
    seed.add_argument("--seeds", type=seed_list, default=None, metavar="A-B",
                      help="a sweep: the champion against the targets at each of these seeds (42-47, or 42,45), one line each, then mean and worst")
    ap.add_argument("--confirm-seconds", type=float, default=None, metavar="S",
                    help="confirm a print after its next prints or S seconds, whichever is first (features.confirm_seconds; default: the config's)")
    ap.add_argument("--history-days", type=int, default=1, metavar="N",
                    help="N earlier simulated trading days in gold before the ingestion job's day (other markets, a business day apart), split with it by time; default 1, what make run lands (the market_history job); 0: that day alone")
    a = ap.parse_args()
    if a.history_days < 0: ap.error(f"--history-days must be 0 or more, got {a.history_days}")
    if a.seeds: sweep(a.seeds, a.quick, a.labels, a.confirm_seconds, a.history_days)
    else: main(a.quick, a.labels, a.seed, a.confirm_seconds, a.history_days)
