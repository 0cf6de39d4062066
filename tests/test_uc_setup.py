"""setup_uc_infrastructure.sql: every table the jobs own, for any env's catalog, with the volumes and grants, and none
of the pipeline's datasets (which only the pipeline may define)."""
import re
from pathlib import Path

from financial_transactions.bundle import uc_setup_statements
from financial_transactions.config import ENVS, Tables, load_config
from financial_transactions.databricks_stub import sql_problem

ROOT = Path(__file__).resolve().parents[1]
SQL = (ROOT / "setup_uc_infrastructure.sql").read_text()
CREATED = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SQL))


def _cfg(env="prd"):
    return load_config(ROOT / "project_config.yml", env=env, environ={})


def test_every_owned_table_is_created_and_no_pipeline_dataset():
    cfg = _cfg()
    pipeline = cfg.pipeline_tables
    owned = {getattr(cfg.tables, k) for k in Tables.model_fields} - pipeline
    assert owned <= CREATED, f"tables not in setup_uc_infrastructure.sql: {sorted(owned - CREATED)}"
    assert not pipeline & CREATED, f"pipeline datasets created outside the pipeline: {sorted(pipeline & CREATED)}"


def test_every_table_the_code_names_is_configured():
    # the code reaches tables only through cfg.table("<key>"); each key must be a configured table
    used = set()
    for p in (ROOT / "financial_transactions").rglob("*.py"):
        used |= set(re.findall(r"\.table\(\s*[\"'](\w+)[\"']\s*\)", p.read_text()))
    for p in (ROOT / "nbs/jobs").glob("*.ipynb"):
        used |= set(re.findall(r"\.table\(\s*\\?[\"'](\w+)\\?[\"']\s*\)", p.read_text()))
    assert used, "found no cfg.table(...) call: the pattern is stale"
    assert used <= set(Tables.model_fields), f"keys used but not configured: {sorted(used - set(Tables.model_fields))}"


def test_rendered_for_each_env_and_accepted_by_the_platform_rules():
    for env in ENVS:
        if env == "local": continue
        cfg = _cfg(env)
        stmts = uc_setup_statements(cfg, ROOT)
        assert stmts[0] == f"CREATE CATALOG IF NOT EXISTS {cfg.catalog} COMMENT 'financial-ai-mlops'", stmts[0]
        assert f"GRANT USE CATALOG ON CATALOG {cfg.catalog} TO `fin-mlops-jobs`" in stmts
        assert not [s for s in stmts if "${" in s], "a placeholder was left unrendered"
        pipeline = cfg.pipeline_tables
        problems = [(s[:60], sql_problem(s, pipeline)) for s in stmts if sql_problem(s, pipeline)]
        assert not problems, problems
    for volume in ("landing", "checkpoints", "dashboard"):
        assert f"CREATE VOLUME IF NOT EXISTS {volume}" in SQL
    assert re.search(r"GRANT .*MODIFY.* TO `fin-mlops-jobs`", SQL)
    stmts = uc_setup_statements(_cfg("acc"), ROOT)
    assert not [s for s in stmts if s.startswith("DECLARE") or "IDENTIFIER(" in s]   # no env defaulted here, no IDENTIFIER in GRANT


def _columns(table: str) -> list[str]:
    body = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \((.*?)\n\)", SQL, flags=re.S).group(1)
    return [line.split()[0] for line in body.strip().splitlines()]


def test_created_tables_have_the_columns_the_jobs_write():
    # a job's append or overwrite fails on Databricks when the set-up script's table has other columns than the code
    import pyarrow as pa
    from financial_transactions.features.feature_engineering import gold_columns
    from financial_transactions.monitoring.scoring import scored_schema
    assert _columns("train_set") == gold_columns() + ["feature_table_version"]
    gold = pa.schema([(c, pa.float64()) for c in gold_columns()])
    assert _columns("scored_trades") == scored_schema(gold).names
    from financial_transactions.features.feature_engineering import CARRY_COLUMNS, HELD_COLUMNS
    assert _columns("gold_feature_state") == HELD_COLUMNS + CARRY_COLUMNS + ["_fingerprint", "_watermark"]
    assert _columns("scoring_state") == ["symbol", "ts", "score"]
