"""Interrupts as a user or a scheduler sends them, to real processes, with bounded waits.

- Ctrl-C (SIGINT to the foreground process group, as a terminal sends it) ends `fin-mlops pipeline run` in its
  streaming phase and in its gold phase within 10 s, with "interrupted" and exit 130, no Java trace, and no process
  of the group left (the JVM included); a re-run then finishes the work with no duplicate.
- While one pipeline run holds the lakehouse, a second is refused at once, naming the holder.
- `kill -9` of `fin-mlops run` during its pipeline task takes the pipeline process and its JVM with it.
- Ctrl-C of `fin-mlops run` during a notebook task exits 130 with "interrupted", no kernel noise, writes `run.json`
  with the run canceled, and a second run of a `max_concurrent_runs: 1` job is refused while the first runs. The run
  starts with SIGINT ignored, as a script's `fin-mlops run &` does (and a backgrounded `.ci/run`): it still stops.

Starts Spark in subprocesses.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIN = str(Path(sys.executable).parent / "fin-mlops")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

BUNDLE = """
resources:
  pipelines:
    p: {name: p}
  jobs:
    pipe:
      name: pipe
      tasks:
        - task_key: run_pipeline
          pipeline_task: {pipeline_id: "${resources.pipelines.p.id}"}
    sleepy:
      name: sleepy
      tasks:
        - task_key: nap
          notebook_task: {notebook_path: ../nbs/nap.ipynb}
        - task_key: after
          depends_on: [{task_key: nap}]
          notebook_task: {notebook_path: ../nbs/nap.ipynb}
"""


def nap_notebook(marker: Path) -> dict:
    "A notebook that touches `marker` once its kernel runs the cell, then sleeps."
    src = f"import pathlib, time\npathlib.Path({str(marker)!r}).touch()\nprint('napping', flush=True)\ntime.sleep(120)"
    return {"cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def descendants(pid: int) -> set[int]:
    "Every live process below `pid` (from /proc)."
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit(): continue
        try: ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError): continue
        kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out: out.add(c); todo.append(c)
    return out


def alive(pid: int) -> bool:
    "Running, not a zombie waiting to be reaped."
    try: return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError: return False


def wait_for(cond, timeout: float, what: str, poll: float = 0.1):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond(): return time.monotonic() - t0
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def cmdline(pid: int) -> str:
    try: return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError: return ""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    "A small bundle (a pipeline job and a sleeping notebook job) over a lakehouse with 20,000 landed trades."
    proj = tmp_path_factory.mktemp("proj")
    (proj / "resources").mkdir(); (proj / "nbs").mkdir()
    (proj / "databricks.yml").write_text("bundle: {name: interrupts}\ninclude: [resources/*.yml]\ntargets: {dev: {default: true}}\n")
    (proj / "resources/jobs.yml").write_text(BUNDLE)
    (proj / "nbs/nap.ipynb").write_text(json.dumps(nap_notebook(proj / "napping")))
    shutil.copy(ROOT / "project_config.yml", proj)
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(proj / ".lakehouse")}
    code = """
from financial_transactions.runtime import load_project_config, landing_path
from financial_transactions.streaming.collector import land_trades
from financial_transactions.streaming.market_simulator import MarketSimulator
cfg = load_project_config("dev")
m = MarketSimulator(cfg.simulator, cfg.ingestion.symbols).generate(n_trades=20_000)
land_trades(m.trades, landing_path(cfg, "finnhub"), "int-1", chunk=2_000)
print(len(m.trades))
"""
    r = subprocess.run([sys.executable, "-c", code], cwd=proj, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return proj, env, int(r.stdout.split()[-1])


def table_dir(proj: Path, name: str) -> Path:
    return proj / ".lakehouse/tables/mlops_dev/financial_transactions" / name


def awaiting(proj: Path) -> int:
    "Silver trades not in gold yet: each symbol's last `lookahead` wait in the feature state for their next prints."
    from deltalake import DeltaTable
    from financial_transactions.config import FeaturesConfig
    from financial_transactions.features.feature_engineering import lookahead
    per = DeltaTable(str(table_dir(proj, "silver_trades"))).to_pandas(columns=["symbol"])["symbol"].value_counts()
    return int(sum(min(k, lookahead(FeaturesConfig())) for k in per))


def pipeline(proj, env, *extra) -> subprocess.Popen:
    return subprocess.Popen([FIN, "pipeline", "run", "--env", "dev", "--json", *extra], cwd=proj, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def ctrl_c(p: subprocess.Popen, limit: float = 10.0) -> tuple[str, str, float]:
    "SIGINT to the process group, as a terminal's Ctrl-C; (stdout, stderr, seconds to exit)."
    t0 = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=limit + 20)
    return out, err, time.monotonic() - t0


def test_pipeline_ctrl_c_in_each_phase_then_rerun(project):
    proj, env, n = project
    # the streaming phase: Ctrl-C as soon as the first micro-batch has written bronze; a second run meanwhile is refused
    p = pipeline(proj, env)
    wait_for(lambda: (table_dir(proj, "bronze_trades") / "_delta_log").is_dir(), 180, "bronze to be written")
    busy = subprocess.run([FIN, "pipeline", "run", "--env", "dev"], cwd=proj, env=env, capture_output=True, text=True, timeout=120)
    assert busy.returncode == 2, busy.stdout + busy.stderr
    assert f"the dev pipeline is in use by pid {p.pid}" in busy.stderr and len(busy.stderr.strip().splitlines()) == 1, busy.stderr
    group = descendants(p.pid)
    out, err, took = ctrl_c(p)
    assert p.returncode == 130 and took < 10, (p.returncode, took, err[-2000:])
    assert "fin-mlops pipeline run: interrupted" in err and "Traceback" not in err and "Py4J" not in err and "at org.apache" not in err, err[-3000:]
    wait_for(lambda: not any(alive(q) for q in group), 10, "the pipeline's processes (the JVM) to end")
    # the gold phase: Ctrl-C once silver holds every trade (gold is being rebuilt from it)
    p = pipeline(proj, env)
    def silver_done():
        log = table_dir(proj, "silver_trades") / "_delta_log"
        return p.poll() is not None or (log.is_dir() and any(log.glob("*.json")))
    wait_for(silver_done, 300, "silver to be merged")
    time.sleep(1)
    group = descendants(p.pid)
    out, err, took = ctrl_c(p)
    assert p.returncode in (0, 130) and took < 10, (p.returncode, took, err[-2000:])   # 0: it finished first
    if p.returncode == 130: assert "interrupted" in err and "Traceback" not in err, err[-3000:]
    wait_for(lambda: not any(alive(q) for q in group), 10, "the pipeline's processes to end")
    # the re-run finishes the work, with every trade once
    p = pipeline(proj, env)
    out, err = p.communicate(timeout=900)
    assert p.returncode == 0, err[-3000:]
    res = json.loads(out[out.index("{"):])
    assert res["counts"]["silver_trades"] == n and res["counts"]["gold_features"] == n - awaiting(proj), res["counts"]
    assert res["counts"]["bronze_trades"] == n, res["counts"]             # no batch appended twice


def test_killed_runner_takes_its_pipeline_along(project):
    proj, env, _ = project
    runner = subprocess.Popen([FIN, "run", "pipe"], cwd=proj, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True)
    wait_for(lambda: any("pipeline run" in cmdline(q) for q in descendants(runner.pid)), 60, "the pipeline subprocess")
    wait_for(lambda: any("java" in cmdline(q) for q in descendants(runner.pid)), 60, "the pipeline's JVM")
    tree = descendants(runner.pid)
    runner.kill(); runner.wait()
    took = wait_for(lambda: not any(alive(q) for q in tree), 15, "the killed runner's children to end")
    print(f"children gone {took:.1f}s after kill -9")
    # nothing holds the pipeline lock now: the next run starts
    r = subprocess.run([FIN, "pipeline", "run", "--env", "dev"], cwd=proj, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


def test_job_ctrl_c_and_concurrent_run(project):
    proj, env, _ = project
    runner = subprocess.Popen([FIN, "run", "sleepy"], cwd=proj, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    runs = proj / ".lakehouse/runs/sleepy"
    wait_for(lambda: (proj / "napping").exists(), 120, "the job's kernel to reach the notebook's sleep")
    time.sleep(0.5)
    second = subprocess.run([FIN, "run", "sleepy"], cwd=proj, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and f"job 'sleepy' (max_concurrent_runs: 1) is in use by pid {runner.pid}" in second.stderr, second.stderr
    tree = descendants(runner.pid)
    out, err, took = ctrl_c(runner)
    assert runner.returncode == 130 and took < 10, (runner.returncode, took, err[-2000:])
    assert "interrupted" in err and "Traceback" not in err and "ZMQError" not in err, err[-3000:]
    wait_for(lambda: not any(alive(q) for q in tree), 10, "the kernel to end")
    run = json.loads(next(d / "run.json" for d in runs.iterdir() if (d / "run.json").exists()).read_text())
    assert run["state"] == "CANCELED" and not run["ok"], run
    assert [(t["task_key"], t["state"]) for t in run["tasks"]] == [("nap", "CANCELED"), ("after", "CANCELED")], run["tasks"]
