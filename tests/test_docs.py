"""The docs site's sources hold together: every job a runbook command names exists in the bundle, every
`fin-mlops` command it uses exists, and the sidebar's sections cover every numbered notebook."""
import glob
import re
from pathlib import Path

import yaml

from financial_transactions.bundle import load_bundle
from financial_transactions.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
OPS = sorted((ROOT / "nbs/ops").glob("*.qmd"))


def test_operational_pages_exist():
    assert {p.stem for p in OPS} >= {"runbook", "deployment_checklist", "secrets"}
    runbook = (ROOT / "nbs/ops/runbook.qmd").read_text()
    for section in ("Drift alarm", "Failed ingestion", "Failed deploy", "Emergency rollback"):
        assert f"## {section}" in runbook


def test_runbook_commands_name_real_jobs_and_commands():
    jobs = set(load_bundle(ROOT).jobs)
    for page in OPS:
        text = page.read_text()
        for job in re.findall(r"(?:fin-mlops run|databricks bundle run) ([a-z_]+)", text):
            assert job in jobs, f"{page.name} names job '{job}', not in the bundle: {sorted(jobs)}"
        for cmd in re.findall(r"`fin-mlops ([\w-]+)", text):
            assert cmd in COMMANDS, f"{page.name}: fin-mlops {cmd} is not a command"


def test_sidebar_follows_the_numbered_notebooks():
    q = yaml.safe_load((ROOT / "nbs/_quarto.yml").read_text())
    contents = q["website"]["sidebar"]["contents"]
    globs = [c["contents"] for c in contents if isinstance(c, dict)]
    covered = {Path(p).name for g in globs for p in glob.glob(str(ROOT / "nbs" / g))}
    numbered = {p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb")}
    assert numbered and numbered <= covered, f"not in the sidebar: {sorted(numbered - covered)}"
