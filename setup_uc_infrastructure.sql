-- Unity Catalog set-up for financial-ai-mlops, one environment at a time: its catalog, the schema, volumes and grants,
-- and every table the jobs own. A template: `fin-mlops uc-setup --env acc` prints it for that env (paste it into the
-- SQL editor), `fin-mlops uc-setup --env acc --warehouse-id <id>` runs it statement by statement on a SQL warehouse.
-- ${catalog} and ${schema} come from project_config.yml (the one home of those names); nothing here defaults an env.
-- Idempotent (IF NOT EXISTS everywhere).
--
-- Not here, on purpose: the medallion's datasets (bronze_trades, bronze_bars, silver_trades, silver_bars,
-- quarantine_trades, gold_trade_features). A pipeline dataset can be defined only once, by its pipeline; a table created
-- here first would make the pipeline's first update fail ("a MANAGED table already exists with that name").
-- In dev each developer's schema (<user>_financial_transactions) is a bundle resource (resources/unity_catalog.yml).

CREATE CATALOG IF NOT EXISTS ${catalog} COMMENT 'financial-ai-mlops';
USE CATALOG ${catalog};
CREATE SCHEMA IF NOT EXISTS ${schema} COMMENT 'Trades, features, models and monitoring of the anomaly detector';
USE SCHEMA ${schema};

-- Volumes: the collectors' landing zone (and checkpoints), and the dashboard's exported JSON
CREATE VOLUME IF NOT EXISTS landing COMMENT 'raw JSON-lines files from the Finnhub and Alpha Vantage collectors';
CREATE VOLUME IF NOT EXISTS checkpoints COMMENT 'Structured Streaming checkpoints of the bronze ingest';
CREATE VOLUME IF NOT EXISTS dashboard COMMENT 'JSON metrics exported for the monitoring dashboard';

-- Grants: the job service principal writes everything; analysts read; the on-call group can run rollbacks.
-- (The securable is named: GRANT takes no IDENTIFIER() clause.)
GRANT USE CATALOG ON CATALOG ${catalog} TO `fin-mlops-jobs`;
GRANT USE SCHEMA, CREATE TABLE, CREATE MATERIALIZED VIEW, CREATE MODEL, MODIFY, SELECT, READ VOLUME, WRITE VOLUME ON SCHEMA ${schema} TO `fin-mlops-jobs`;
GRANT USE CATALOG ON CATALOG ${catalog} TO `fin-mlops-analysts`;
GRANT USE SCHEMA, SELECT, READ VOLUME, EXECUTE ON SCHEMA ${schema} TO `fin-mlops-analysts`;
GRANT USE CATALOG ON CATALOG ${catalog} TO `fin-mlops-oncall`;
GRANT USE SCHEMA, SELECT, EXECUTE, APPLY TAG ON SCHEMA ${schema} TO `fin-mlops-oncall`;

-- The registered model (aliases `champion` and `latest-model` are set by the jobs):
--   ${catalog}.${schema}.anomaly_model_champion, created by the first registration.

-- Tables
CREATE TABLE IF NOT EXISTS alerts_audit (
  alert_id STRING,
  ts TIMESTAMP,
  env STRING,
  severity STRING,
  source STRING,
  title STRING,
  message STRING,
  fingerprint STRING,
  status STRING,
  attempts BIGINT,
  http_status BIGINT,
  error STRING,
  latency_ms DOUBLE,
  details STRING
)
COMMENT 'every alert, sent or not, with the webhook''s answer';

CREATE TABLE IF NOT EXISTS champion_challenger_audit (
  decision_id STRING,
  decided_at TIMESTAMP,
  env STRING,
  model_name STRING,
  decision STRING,
  reason STRING,
  challenger_version BIGINT,
  champion_version BIGINT,
  new_champion_version BIGINT,
  primary_metric STRING,
  challenger_score DOUBLE,
  champion_score DOUBLE,
  delta DOUBLE,
  min_improvement DOUBLE,
  tolerance DOUBLE,
  challenger_metrics STRING,
  champion_metrics STRING,
  validation STRING,
  holdout_table STRING,
  holdout_version BIGINT,
  holdout_rows BIGINT,
  state_before STRING
)
COMMENT 'every gate decision (PROMOTE / REJECT / ROLLBACK) with its reason and metrics';

CREATE TABLE IF NOT EXISTS collector_runs (
  run_id STRING,
  source STRING,
  started_at TIMESTAMP,
  ended_at TIMESTAMP,
  received BIGINT,
  landed BIGINT,
  rejected BIGINT,
  duplicates BIGINT,
  reconnects BIGINT,
  files BIGINT
)
COMMENT 'per-run counters of the collectors';

CREATE TABLE IF NOT EXISTS drift_monitoring (
  run_id STRING,
  run_ts TIMESTAMP,
  model_name STRING,
  model_version STRING,
  reference_table STRING,
  reference_version BIGINT,
  reference_start TIMESTAMP,
  reference_end TIMESTAMP,
  current_table STRING,
  current_version BIGINT,
  current_start TIMESTAMP,
  current_end TIMESTAMP,
  overall_verdict STRING,
  drifted_share DOUBLE,
  feature STRING,
  kind STRING,
  psi DOUBLE,
  js DOUBLE,
  verdict STRING,
  ref_rows BIGINT,
  cur_rows BIGINT,
  ref_missing BIGINT,
  cur_missing BIGINT,
  n_bins BIGINT,
  note STRING
)
COMMENT 'one row per feature per drift run, with window bounds and row counts';

CREATE TABLE IF NOT EXISTS inference_log (
  request_id STRING,
  request_key STRING,
  request_time TIMESTAMP,
  endpoint STRING,
  served_entity STRING,
  model_version STRING,
  status_code INT,
  duration_ms DOUBLE,
  n_rows BIGINT,
  n_anomalies BIGINT,
  request STRING,
  response STRING,
  error STRING
)
COMMENT 'every request and response of the local gateway (Databricks writes its own AI Gateway payload table)';

CREATE TABLE IF NOT EXISTS model_monitoring (
  run_id STRING,
  run_ts TIMESTAMP,
  model_name STRING,
  model_version STRING,
  window_start TIMESTAMP,
  window_end TIMESTAMP,
  n_scored BIGINT,
  n_labeled BIGINT,
  n_positive BIGINT,
  n_predicted BIGINT,
  precision DOUBLE,
  recall DOUBLE,
  average_precision DOUBLE,
  status STRING
)
COMMENT 'the champion''s live precision / recall / average precision over time';

CREATE TABLE IF NOT EXISTS landing_files (
  dataset STRING,
  path STRING,
  bytes BIGINT,
  mtime_ns BIGINT,
  sha256 STRING,
  status STRING,
  rows BIGINT,
  recorded_at TIMESTAMP
)
COMMENT 'the local pipeline runner''s manifest of ingested landed files (on Databricks, Auto Loader''s checkpoint and the pipeline event log play this part)';

CREATE TABLE IF NOT EXISTS gold_feature_state (
  symbol STRING,
  ts TIMESTAMP,
  trade_id STRING,
  price DOUBLE,
  volume DOUBLE,
  session_type STRING,
  ingested_at TIMESTAMP,
  _pos0 BIGINT,
  _emitted BIGINT,
  _ref DOUBLE,
  _eu DOUBLE,
  _ed DOUBLE,
  _fast DOUBLE,
  _slow DOUBLE,
  _sig DOUBLE,
  _cpv DOUBLE,
  _cv DOUBLE,
  _fingerprint STRING,
  _watermark BIGINT
)
COMMENT 'the local pipeline runner''s per-symbol feature state (features.feature_engineering.FeatureState): the rows the next trades need and the running values at the first of them';

CREATE TABLE IF NOT EXISTS scoring_state (
  symbol STRING,
  ts TIMESTAMP,
  score DOUBLE
)
COMMENT 'scoring''s watermark on gold (the row without a symbol: the last gold_at scored) and each symbol''s recent scores, the alert budget''s history';

CREATE TABLE IF NOT EXISTS retraining_audit (
  decision_id STRING,
  ts TIMESTAMP,
  env STRING,
  action STRING,
  retrain BOOLEAN,
  reason STRING,
  trigger STRING,
  model_version STRING,
  drift_run_id STRING,
  drift_verdict STRING,
  drifted_share DOUBLE,
  drifted_features STRING,
  metrics STRING,
  claim_seq BIGINT,
  state_version BIGINT,
  job_name STRING,
  job_run_id STRING
)
COMMENT 'one row per retraining decision, with the reason';

CREATE TABLE IF NOT EXISTS scored_trades (
  trade_id STRING,
  symbol STRING,
  ts TIMESTAMP,
  price DOUBLE,
  volume DOUBLE,
  session_type STRING,
  anomaly_score DOUBLE,
  instant_score DOUBLE,
  is_anomaly BOOLEAN,
  verdict STRING,
  reasons STRING,
  model_name STRING,
  model_version STRING,
  threshold DOUBLE,
  feature_table_version BIGINT,
  scored_at TIMESTAMP,
  run_id STRING,
  label BIGINT,
  labeled_at TIMESTAMP
)
COMMENT 'the champion''s confirmed and instant scores, verdict and reasons per gold row';

CREATE TABLE IF NOT EXISTS smoke_test (
  checked_at TIMESTAMP,
  runtime STRING,
  env STRING
)
COMMENT 'health-check rows written by the foundation_smoke job';


CREATE TABLE IF NOT EXISTS train_set (
  symbol STRING,
  ts TIMESTAMP,
  trade_id STRING,
  price DOUBLE,
  volume DOUBLE,
  session_type STRING,
  log_return DOUBLE,
  volatility DOUBLE,
  rsi DOUBLE,
  macd DOUBLE,
  macd_signal DOUBLE,
  macd_hist DOUBLE,
  bb_upper DOUBLE,
  bb_middle DOUBLE,
  bb_lower DOUBLE,
  vwap DOUBLE,
  volume_zscore DOUBLE,
  return_zscore DOUBLE,
  macd_hist_norm DOUBLE,
  bb_zscore DOUBLE,
  bb_width DOUBLE,
  vwap_dev DOUBLE,
  log_dt_rel DOUBLE,
  price_rdev DOUBLE,
  volume_rdev DOUBLE,
  gap_rdev DOUBLE,
  volume_rdev_long DOUBLE,
  price_rdev_next DOUBLE,
  burst_rdev DOUBLE,
  burst_peak DOUBLE,
  reverting DOUBLE,
  label BIGINT,
  gold_at TIMESTAMP,
  feature_table_version BIGINT
)
COMMENT 'time-split training rows, stamped with the feature table version';

-- the holdout has exactly the training set's columns
CREATE TABLE IF NOT EXISTS test_set LIKE train_set;
COMMENT ON TABLE test_set IS 'time-split holdout (after the gap), stamped with the feature table version';
