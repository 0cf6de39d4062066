"""The GitHub workflows are valid YAML with the shape GitHub expects, and the commands they run exist."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WF = ROOT / ".github/workflows"


def load(name):
    d = yaml.safe_load((WF / name).read_text())
    d["on"] = d.pop(True, d.get("on"))  # YAML 1.1 reads the key `on` as True
    return d


def test_every_workflow_is_well_formed():
    files = sorted(WF.glob("*.yml"))
    assert {f.name for f in files} >= {"ci.yml", "cd.yml", "model_validation.yml", "docs.yml"}
    for f in files:
        d = load(f.name)
        assert d.get("name") and d.get("on"), f.name
        for job_name, job in d["jobs"].items():
            assert "runs-on" in job, f"{f.name}: {job_name} has no runs-on"
            for i, step in enumerate(job["steps"]):
                assert ("uses" in step) != ("run" in step), f"{f.name}: {job_name} step {i} needs exactly one of uses/run"
            for need in [job["needs"]] if isinstance(job.get("needs"), str) else job.get("needs", []):
                assert need in d["jobs"], f"{f.name}: {job_name} needs unknown job {need}"


def test_cd_promotes_dev_acc_prd_with_approval_and_rollback():
    jobs = load("cd.yml")["jobs"]
    assert jobs["deploy-acc"]["needs"] == "deploy-dev" and jobs["deploy-prd"]["needs"] == "deploy-acc"
    assert jobs["deploy-prd"]["environment"] == "prd"
    for t in ("dev", "acc", "prd"):
        runs = [s.get("run", "") for s in jobs[f"deploy-{t}"]["steps"]]
        assert f"databricks bundle deploy -t {t}" in runs and f"databricks bundle validate -t {t}" in runs
    rb = jobs["rollback-prd"]
    assert rb["if"] == "failure()"
    rollback_job = re.search(r"bundle run (\S+)", rb["steps"][-1]["run"]).group(1)
    bundle_text = "\n".join(p.read_text() for p in (ROOT / "resources").glob("*.yml"))
    assert re.search(rf"^\s+{rollback_job}:\s*$", bundle_text, re.M), f"rollback job {rollback_job} is not in resources/"


def test_commands_used_by_workflows_exist():
    makefile = (ROOT / "Makefile").read_text()
    from financial_transactions.cli import COMMANDS
    for f in WF.glob("*.yml"):
        text = f.read_text()
        for target in re.findall(r"\bmake ([a-z-]+)", text):
            assert re.search(rf"^{target}:", makefile, re.M), f"{f.name}: make {target} is not a Makefile target"
        for cmd in re.findall(r"fin-mlops (\w+)", text):
            assert cmd in COMMANDS, f"{f.name}: fin-mlops {cmd} is not a command"
    assert "nbdev-export" in (WF / "ci.yml").read_text() and "ruff" in (WF / "ci.yml").read_text().lower()
