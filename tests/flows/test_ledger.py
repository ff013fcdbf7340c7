"""The signal ledger on the real history: one row per as-of session and book, nothing on
a re-run, missed sessions caught up each as of its own date, a late revision kept as a
new version beside the old one, stale inputs named, and a run that dies before its write
leaves nothing and is made good once by the next."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from flows import ledger
from flows.ledger import LedgerRequest, ledger_flow
from tests.conftest import query

pytestmark = pytest.mark.slow

CUT = date(2025, 12, 31)  # the warehouse's VX settlements are cut here first
SESSION = date(2026, 1, 8)  # the session the daily runs are for
BOOK = {"start_date": "2022-01-03"}  # the default book, on a short history (fast steps)


def _sql(db: Path, text: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(text)
    finally:
        con.close()


def _ledger(db: Path) -> pl.DataFrame:
    return query(db, "SELECT * FROM results.signal_ledger ORDER BY config_hash, as_of, version")


def test_the_ledger_appends_catches_up_and_keeps_revisions(
    research_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "alvh.duckdb"
    shutil.copy(research_warehouse, db)
    request = LedgerRequest(db=db, books=[BOOK], session=SESSION)
    _sql(
        db,
        f"CREATE TABLE later AS SELECT * FROM core.vx_futures WHERE trade_date > DATE '{CUT}';"
        f"DELETE FROM core.vx_futures WHERE trade_date > DATE '{CUT}'",
    )
    first = ledger_flow(request)
    assert first.height == 1
    row = first.row(0, named=True)
    assert (row["as_of"], row["version"], row["bounded_by"]) == (CUT, 1, "VX futures")
    assert row["next_session"] == date(2026, 1, 2)
    assert f"VX futures {CUT}" in row["stale"]  # named, with its last date
    assert json.loads(row["inputs"])["VX futures"] == CUT.isoformat()
    assert ledger_flow(request).is_empty()  # a re-run adds nothing
    # the missed sessions arrive: each is caught up as of its own date
    _sql(db, "INSERT INTO core.vx_futures SELECT * FROM later")
    caught = ledger_flow(request)
    days = [date(2026, 1, 2), date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)]
    assert caught["as_of"].to_list() == days
    assert caught["version"].to_list() == [1] * 4
    assert caught["next_session"].to_list() == [*days[1:], SESSION]
    assert ledger_flow(request).is_empty()
    before = _ledger(db)
    assert before.height == 5
    # a late revision of the last day's settlements: a new version, the old one kept
    _sql(db, "UPDATE core.vx_futures SET settle = settle + 0.5 WHERE trade_date = '2026-01-07'")
    revised = ledger_flow(request)
    assert revised.select("as_of", "version").rows() == [(date(2026, 1, 7), 2)]
    after = _ledger(db)
    assert after.height == 6
    assert after.filter(pl.col("version") == 1).equals(before)  # nothing rewritten
    assert after.filter(pl.col("version") == 2)["digest"][0] != before["digest"][-1]


def test_a_run_that_dies_before_its_write_is_made_good_once(
    research_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "alvh.duckdb"
    shutil.copy(research_warehouse, db)
    request = LedgerRequest(db=db, books=[{**BOOK, "hedge_ratio": 0.3}], session=SESSION)

    def killed(*_: object) -> None:
        raise KeyboardInterrupt  # the run stops after the book, before the ledger commits

    monkeypatch.setattr(ledger, "append_ledger", killed)
    with pytest.raises(KeyboardInterrupt):
        ledger_flow(request)
    assert _ledger(db).is_empty()
    monkeypatch.undo()
    assert ledger_flow(request).height == 1
    assert ledger_flow(request).is_empty()
    stored = _ledger(db)
    assert stored.select("as_of", "version").rows() == [(date(2026, 1, 7), 1)]
    assert json.loads(stored["params"][0])["hedge_ratio"] == 0.3
