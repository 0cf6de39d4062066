"""setup_uc_infrastructure.sql declares every table the code uses, for every env's catalog, with the volumes and grants."""
import re
from pathlib import Path

from financial_transactions.config import ENVS, Tables, load_config

ROOT = Path(__file__).resolve().parents[1]
SQL = (ROOT / "setup_uc_infrastructure.sql").read_text()
CREATED = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SQL))


def test_every_configured_table_is_created():
    cfg = load_config(ROOT / "project_config.yml", env="prd", environ={})
    names = {getattr(cfg.tables, k) for k in Tables.model_fields}
    assert names <= CREATED, f"tables not in setup_uc_infrastructure.sql: {sorted(names - CREATED)}"


def test_every_table_the_code_names_is_configured():
    # the code reaches tables only through cfg.table("<key>"); each key must be a configured table
    used = set()
    for p in (ROOT / "financial_transactions").rglob("*.py"):
        used |= set(re.findall(r"\.table\(\s*[\"'](\w+)[\"']\s*\)", p.read_text()))
    for p in (ROOT / "nbs/jobs").glob("*.ipynb"):
        used |= set(re.findall(r"\.table\(\s*\\?[\"'](\w+)\\?[\"']\s*\)", p.read_text()))
    assert used, "found no cfg.table(...) call: the pattern is stale"
    assert used <= set(Tables.model_fields), f"keys used but not configured: {sorted(used - set(Tables.model_fields))}"


def test_catalogs_volumes_and_grants():
    for env in ENVS:
        if env == "local": continue
        cat = load_config(ROOT / "project_config.yml", env=env, environ={}).catalog
        assert f"CREATE CATALOG IF NOT EXISTS {cat}" in SQL, cat
    for volume in ("landing", "checkpoints", "dashboard"):
        assert f"CREATE VOLUME IF NOT EXISTS {volume}" in SQL
    assert "CREATE SCHEMA IF NOT EXISTS financial_transactions" in SQL
    assert re.search(r"GRANT .*MODIFY.* TO `fin-mlops-jobs`", SQL)
