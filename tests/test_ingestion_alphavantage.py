"""The Alpha Vantage collector against the local Alpha Vantage server, one test per response kind, with the real
client code (requests, the rate limiter, the retry loop); and both command lines end to end."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from financial_transactions.streaming.alphavantage import (AlphaVantageCollector, AlphaVantageInvalidRequest,
                                                           AlphaVantagePremium, AlphaVantageUnavailable, DailyLimitReached)
from financial_transactions.streaming.alphavantage_server import AlphaVantageServer
from financial_transactions.streaming.collector import read_landed

FIN = str(Path(sys.executable).parent / "fin-mlops")
KEY = "test-key-7f3a"


@pytest.fixture
def av():
    with AlphaVantageServer(api_key=KEY) as srv: yield srv


@pytest.fixture
def col(av, tmp_path):
    naps = []
    c = AlphaVantageCollector(av.url, KEY, tmp_path / "alphavantage", calls_per_minute=100, timeout=2.5,
                              max_retries=3, backoff_seconds=0.2, sleep=naps.append)
    c.naps = naps
    return c


def test_data_intraday_and_daily(col):
    bars, bad = col.fetch("AAPL", "intraday")
    assert len(bars) == 100 and not bad and set(bars["interval"]) == {"5min"}
    assert (bars["high"] >= bars["low"]).all() and bars["ts"].is_monotonic_increasing and str(bars["volume"].dtype) == "int64"
    daily, _ = col.fetch("AAPL", "daily")
    assert len(daily) == 100 and set(daily["interval"]) == {"daily"}


@pytest.mark.parametrize("failures", [["500"], ["502", "503"], ["truncated"], ["empty"], ["slow:5"]])
def test_transient_failures_are_retried(av, col, failures):
    av.fail_next(*failures)
    bars, _ = col.fetch("MSFT")
    assert len(bars) == 100 and col.stats.reconnects == len(failures)


def test_note_waits_out_the_minute_and_retries(av, col):
    av.fail_next("note")
    assert len(col.fetch("MSFT")[0]) == 100
    assert any(n >= 59 for n in col.naps) and col.stats.reconnects == 1


def test_retries_run_out(av, col):
    av.fail_next(*["503"] * 4)
    with pytest.raises(AlphaVantageUnavailable, match="after 3 retries"): col.fetch("MSFT")


def test_error_message_is_not_retried(av, col):
    n = len(av.requests)
    with pytest.raises(AlphaVantageInvalidRequest, match="Invalid API call"): col.fetch("INVALIDSYM")
    assert len(av.requests) - n == 1


def test_information_premium_and_daily_limit(av, col):
    with pytest.raises(AlphaVantagePremium): col.fetch("MSFT", "daily", "full")
    av.fail_next("information")
    with pytest.raises(DailyLimitReached) as e: col.fetch("MSFT")
    assert KEY not in str(e.value)          # Alpha Vantage echoes the key in this notice


def test_bad_key(av, tmp_path):
    c = AlphaVantageCollector(av.url, "wrong", tmp_path / "x", sleep=lambda s: None)
    with pytest.raises(AlphaVantageInvalidRequest, match="apikey is invalid"): c.fetch("MSFT")


def test_notices_are_never_landed(av, col, tmp_path):
    av.fail_next("premium", "error")
    st = col.collect(["AAPL", "MSFT", "NVDA"], ("intraday",))
    assert (st.landed, st.files, st.rejected) == (100, 1, 2)
    landed = read_landed(tmp_path / "alphavantage", prefix="bars-")
    assert set(landed["symbol"]) == {"NVDA"} and landed["close"].map(type).eq(float).all()
    rejected = read_landed(tmp_path / "alphavantage_rejected", prefix="rejected-")
    assert len(rejected) == 2 and all(r.startswith("AlphaVantage") for r in rejected["reason"])


def test_command_lines_end_to_end(tmp_path):
    env = {**os.environ, "FIN_MLOPS_LAKEHOUSE": str(tmp_path / "lh"), "SERVER_KEY": KEY, "ALPHAVANTAGE_API_KEY": KEY}
    srv = subprocess.Popen([FIN, "feed", "alphavantage", "--port", "0", "--key-env", "SERVER_KEY", "--calls-per-day", "3"],
                           stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = srv.stdout.readline().split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/query")
        r = subprocess.run([FIN, "collect", "alphavantage", "--url", url, "--symbols", "AAPL,MSFT,NVDA,TSLA,JPM",
                            "--landing", str(tmp_path / "av"), "--env", "local"], capture_output=True, text=True, env=env, timeout=120)
    finally:
        srv.terminate(); srv.wait(10)
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout.splitlines()[-1])
    # three calls a day on the server: three symbols of bars, then the daily-limit notice ends the run
    assert (done["landed"], done["files"]) == (300, 3)
    assert [f["error"] for f in done["failures"]] == ["DailyLimitReached"]
    assert KEY not in r.stdout + r.stderr
    assert len(read_landed(tmp_path / "av", prefix="bars-")) == 300
