"""`alvh signals` on the real warehouse, and the question the issue asks of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from cli.main import main
from flows.validate import derived_mismatches

QUESTION = (
    "SELECT date, spx_close, ad_macd_hist, vix_rsi_14 FROM signals.signals_daily "
    "WHERE breadth_divergence AND date >= '2004-01-01' ORDER BY date"
)


def test_alvh_signals_fills_the_tables_and_answers_the_breadth_question(
    real_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(real_warehouse, db)
    assert main(["signals", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "signals.signals_daily: 9227 inserted" in out
    assert "signals.macro_signals:" in out
    assert main(["sql", "--db", str(db), "--format", "csv", QUESTION]) == 0
    rows = capsys.readouterr().out.strip().splitlines()
    assert rows[0] == "date,spx_close,ad_macd_hist,vix_rsi_14"
    days = [r.split(",") for r in rows[1:]]
    assert 300 < len(days) < 1000
    assert all("2004-01-01" <= d[0] <= "2015-11-11" for d in days)  # breadth ends 2015-11-11
    assert all(float(d[2]) >= 0 and 0 <= float(d[3]) <= 100 for d in days)
    # Inputs as they were: nothing to recompute; forced, recomputing changes nothing.
    assert main(["signals", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "signals.signals_daily: computed from the core tables as stored, not recomputed" in out
    assert main(["signals", "--db", str(db), "--force"]) == 0
    assert "signals.signals_daily: 0 inserted, 0 updated, 9227 unchanged" in capsys.readouterr().out


def test_signal_tables_follow_their_inputs(
    research_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each signal table records what it was computed from; validation names the tables
    whose inputs changed since (here behind the pipeline's back) until signals run."""
    db = tmp_path / "w.duckdb"
    shutil.copy(research_warehouse, db)
    assert derived_mismatches(db) == []
    con = duckdb.connect(str(db))
    con.execute("UPDATE core.vix_daily SET close = close + 1 WHERE date = '2019-06-12'")
    con.close()
    assert derived_mismatches(db) == [
        "signals.signals_daily: computed from other core data or code than those stored "
        "(run `alvh signals`: it recomputes it)"
    ]
    assert main(["validate", "--db", str(db), "vix_daily"]) != 0
    assert "FAIL signals.signals_daily" in capsys.readouterr().out
    con = duckdb.connect(str(db))
    con.execute(
        "UPDATE core.macro_monthly SET value = value + 1 WHERE reference_month = '2019-05-01'"
    )
    con.close()
    assert [line.split(":")[0] for line in derived_mismatches(db)] == [
        "signals.signals_daily",
        "signals.macro_signals",
    ]
    assert main(["signals", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "signals.signals_daily: 0 inserted, " in out and " 0 updated" not in out
    assert derived_mismatches(db) == []
