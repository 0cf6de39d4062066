"""The retraining story end to end on the simulator's market, built through the feature code in pandas (no Spark):
first model promoted automatically, a worse one rejected with the reason audited, a better one promoted, the champion
pyfunc reproducing the tournament's scores on gold rows, and a rollback of both the champion and a feature table.
Then the same through the bundle jobs (`fin-mlops run retraining_workflow`, `rollback_workflow`)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")


@pytest.fixture()
def lakehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("FIN_MLOPS_LAKEHOUSE", str(tmp_path))
    return tmp_path


def _write_sets(cfg, train, test):
    from financial_transactions import runtime
    runtime.write_table(train, cfg.table("train_set"), mode="overwrite", config=cfg)
    runtime.write_table(test, cfg.table("test_set"), mode="overwrite", config=cfg)
    runtime.write_table(test.drop(columns=["feature_table_version"]), cfg.table("gold_features"), mode="overwrite", config=cfg)


def test_gate_story_and_rollback(lakehouse):
    from financial_transactions import runtime
    from financial_transactions.models.champion_challenger import PROMOTE, REJECT, ROLLBACK, ChampionChallenger, read_audit
    from financial_transactions.runtime import setup_mlflow
    from financial_transactions.features.simulated_sets import simulated_train_test
    from financial_transactions.models.model_tournament import ModelTournament, load_train_test
    from financial_transactions.models.registry import CHAMPION, LATEST, get_aliases, load_champion, register_winner, version_tags
    from financial_transactions.models.rollback import rollback

    cfg = runtime.load_project_config("local")
    setup_mlflow(cfg)
    train, test = simulated_train_test(cfg, n_trades=60_000)
    _write_sets(cfg, train, test)
    tr, te, tags = load_train_test(cfg)
    assert tags == {"train_set_version": 0, "test_set_version": 0, "feature_table_version": 0}
    gate = ChampionChallenger(cfg)

    # 1. no champion yet: the first model that passes the floors is promoted automatically
    first = ModelTournament(cfg, candidates=["xgboost"], params={"xgboost": {"n_estimators": 3}}).run(tr, te, tags)
    v1 = register_winner(cfg, first)
    d1 = gate.run(v1)
    assert d1.decision == PROMOTE and d1.reason.startswith("no champion yet"), d1.reason
    assert get_aliases(cfg) == {CHAMPION: v1, LATEST: v1}

    # 2. a deliberately worse challenger (labels shuffled): rejected, champion unchanged, reason audited
    shuffled = tr.assign(label=tr.label.sample(frac=1, random_state=0).to_numpy())
    v2 = register_winner(cfg, ModelTournament(cfg, candidates=["lightgbm"]).run(shuffled, te, tags))
    d2 = gate.run(v2)
    assert d2.decision == REJECT, d2.reason
    assert get_aliases(cfg) == {CHAMPION: v1, LATEST: v2}

    # 3. the full tournament on fresher data (train_set overwritten: version 1) wins and is promoted
    runtime.write_table(tr, cfg.table("train_set"), mode="overwrite", config=cfg)
    tr3, te3, tags3 = load_train_test(cfg)
    best = ModelTournament(cfg).run(tr3, te3, tags3)
    assert best.lift_over_baseline > 0, best.comparison()
    v3 = register_winner(cfg, best)
    d3 = gate.run(v3)
    assert d3.decision == PROMOTE and d3.champion_version == v1, d3.reason
    assert d3.challenger_metrics["average_precision"] > d3.champion_metrics["average_precision"]
    assert version_tags(cfg, v3)["train_set_version"] == "1"

    audit = read_audit(cfg)
    assert audit.decision.tolist() == [PROMOTE, REJECT, PROMOTE]
    assert audit.reason[1] == d2.reason and audit.new_champion_version.tolist() == [v1, v1, v3]

    # 4. models:/<name>@champion scores gold rows exactly as the tournament evaluated the winner
    gold = runtime.read_table(cfg.table("gold_features"), config=cfg)
    champ, v = load_champion(cfg)
    assert v == v3
    np.testing.assert_array_equal(champ.predict(gold).anomaly_score.to_numpy(), best.winner_model.score(gold))
    np.testing.assert_array_equal(champ.predict(gold).anomaly_score.to_numpy(), best.winner_model.score(te3))

    # 5. rollback: champion back to v1 and train_set back to the version v1 was trained on (0), as a new commit
    r = rollback(cfg, restore_tables=["train_set"], reason="test")
    assert (r.from_version, r.to_version) == (v3, v1)
    assert get_aliases(cfg)[CHAMPION] == v1
    assert r.restored == {"train_set": (1, 0, 2)}
    assert runtime.table_history(cfg.table("train_set"), cfg).operation.iloc[0] == "RESTORE"
    assert read_audit(cfg).decision.tolist()[-1] == ROLLBACK


def _fin(*args, lakehouse):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lakehouse)}
    return subprocess.run([FIN, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_retraining_and_rollback_jobs(lakehouse):
    from financial_transactions import runtime
    from financial_transactions.models.champion_challenger import read_audit
    from financial_transactions.runtime import setup_mlflow
    from financial_transactions.features.simulated_sets import simulated_train_test
    from financial_transactions.models.registry import CHAMPION, get_aliases

    cfg = runtime.load_project_config("dev")   # the bundle's default target
    train, test = simulated_train_test(cfg, n_trades=40_000)
    # the job builds its training sets from the gold table first: gold holds every row
    gold = pd.concat([train, test]).drop(columns=["feature_table_version"]).sort_values(["symbol", "ts"])
    gold["trade_id"] = [f"t{i:07d}" for i in range(len(gold))]     # the feature table's key with (symbol, ts)
    runtime.write_table(gold, cfg.table("gold_features"), mode="overwrite", config=cfg)

    r = _fin("run", "retraining_workflow", lakehouse=lakehouse)
    assert r.returncode == 0, r.stdout + r.stderr
    run = next((lakehouse / "runs/retraining_workflow").iterdir())
    assert json.loads((run / "task_values/train_tournament.json").read_text())["model_version"] == 1
    # the new version started the model's deployment job (the local runner plays the model trigger)
    dep = next((lakehouse / "runs/model_deployment").iterdir())
    assert json.loads((dep / "task_values/evaluation.json").read_text())["decision"] == "PROMOTE"
    assert json.loads((dep / "task_values/approval.json").read_text())["approval"] == "auto-approved"   # dev approves itself
    assert json.loads((dep / "task_values/deployment.json").read_text())["decision"] == "PROMOTE"

    # a second night on the same data: an equally good retrained model replaces the champion (tolerance rule)
    assert _fin("run", "retraining_workflow", lakehouse=lakehouse).returncode == 0
    setup_mlflow(cfg)
    assert get_aliases(cfg)[CHAMPION] == 2

    r = _fin("run", "rollback_workflow", "--param", "restore_tables=all", lakehouse=lakehouse)
    assert r.returncode == 0, r.stdout + r.stderr
    assert get_aliases(cfg)[CHAMPION] == 1
    assert read_audit(cfg).decision.tolist() == ["PROMOTE", "PROMOTE", "ROLLBACK"]
