"""Two (and three) monitoring processes deciding at the same moment start one retraining: the claim is a Delta
commit with an application transaction, made from the snapshot each process read, so all but one conflict.
Separate interpreters, a file barrier between reading the state and claiming."""
import json
import os
import subprocess
import sys

import pytest

WORKER = r"""
import json, os, sys, time
from pathlib import Path
from datetime import datetime, timezone
from financial_transactions.config import default_config_path, load_config
from financial_transactions.monitoring.drift_detector import DriftSummary
from financial_transactions.monitoring.retraining_trigger import RetrainingTrigger
me, n, barrier = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
def wait_for_all():
    (barrier / f"ready-{me}").touch()
    t = time.time()
    while len(list(barrier.glob("ready-*"))) < n:
        if time.time() - t > 60: raise TimeoutError("barrier")
        time.sleep(0.005)
cfg = load_config(default_config_path(), env="local")
d = RetrainingTrigger(cfg, before_claim=wait_for_all).evaluate(DriftSummary("alert", 0.5, 4, 4, ["a", "b"]),
                                                               now=datetime(2026, 11, 23, 15, tzinfo=timezone.utc))
print(json.dumps({"who": me, "retrain": d.retrain, "action": d.action, "claim_seq": d.claim_seq, "reason": d.reason}))
"""


def race(tmp_path, n, precreate):
    lake, barrier = tmp_path / "lake", tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(lake)}
    if precreate:
        subprocess.run([sys.executable, "-c", "from financial_transactions.config import *; "
                        "from financial_transactions.monitoring.retraining_trigger import RetrainingTrigger; "
                        "RetrainingTrigger(load_config(default_config_path(), env='local'))._create()"], env=env, check=True)
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), str(n), str(barrier)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(n)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    env_code = ("from financial_transactions.config import *; from financial_transactions.monitoring.retraining_trigger import RetrainingTrigger; "
                "h = RetrainingTrigger(load_config(default_config_path(), env='local')).history(); print(h[['action','claim_seq']].to_json(orient='records'))")
    hist = json.loads(subprocess.run([sys.executable, "-c", env_code], env=env, capture_output=True, text=True, check=True).stdout)
    return outs, hist


@pytest.mark.parametrize("n,precreate", [(2, True), (3, True), (2, False)], ids=["two", "three", "two-creating-the-table"])
def test_concurrent_triggers_start_one_retraining(tmp_path, n, precreate):
    outs, hist = race(tmp_path, n, precreate)
    assert sum(o["retrain"] for o in outs) == 1, outs
    winners = [o for o in outs if o["retrain"]]
    assert winners[0]["action"] == "retrain" and winners[0]["claim_seq"] == 1
    # the others know why: they lost the race (or, after re-reading a table that was being created, found the cooldown)
    assert all(o["action"] in ("lost_race", "cooldown") for o in outs if not o["retrain"]), outs
    assert [h["action"] for h in hist].count("retrain") == 1 and len(hist) == n
    assert [h["claim_seq"] for h in hist if h["claim_seq"] is not None] == [1]
