"""The 2026-09 data update ingested on top of the real history, as the README's real-history
path does: new rows appended, the update's real flaws handled by rule with their
reasons, revisions kept, breadth after 2015 in the signals, and books priced only to the
last session every input they need exists."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from flows.ingest import IngestParams, ingest_flow
from flows.signals import SignalsParams, signals_flow
from tests.conftest import query
from transforms.backtest.params import BacktestParams
from transforms.backtest.run import backtest
from transforms.backtest.step import as_of_bound

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def updated(
    research_warehouse: Path, shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    db = tmp_path_factory.mktemp("update") / "alvh.duckdb"
    shutil.copy(research_warehouse, db)
    folder = shared_data.parent / "data-updates" / "2026-09"
    ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=date(2026, 11, 1)))
    signals_flow(SignalsParams(db=db))
    return db


def test_the_update_appends_and_reports_its_flaws_with_reasons(updated: Path) -> None:
    one = lambda q: query(updated, q).row(0)  # noqa: E731
    assert one("SELECT max(trade_date) FROM core.vx_futures") == (date(2026, 9, 17),)
    assert one("SELECT count(*), min(expiry) FROM core.vx_futures WHERE contract = 'VXK26'") == (
        184,
        date(2026, 5, 19),
    )
    runs = {
        r["series"]: r
        for r in query(
            updated,
            "SELECT * FROM ingest_runs WHERE run_id = "
            "(SELECT run_id FROM ingest_runs ORDER BY started_at DESC LIMIT 1)",
        ).iter_rows(named=True)
    }
    for series in ("vx_futures", "nyse_breadth", "sp500_breadth"):
        assert runs[series]["status"] == "succeeded", runs[series]
    vx = str(runs["vx_futures"]["warnings"])
    assert "3 rows revised (3 values; the stored values are kept in core.revisions)" in vx
    assert "days without a trade (volume 0, no close), which some publishers omit" in vx
    revisions = query(updated, "SELECT natural_key, column_name, stored_value, new_value "
                      "FROM core.revisions ORDER BY natural_key")  # fmt: skip
    assert revisions.rows() == [
        ("2026-01-07|VXF26", "open_interest", "145184", "144437"),
        ("2026-01-07|VXG26", "open_interest", "153475", "153522"),
        ("2026-01-07|VXH26", "open_interest", "52430", "52428"),
    ]
    assert one("SELECT min(date), max(date), count(*) FROM core.sp500_breadth") == (
        date(2021, 9, 22),
        date(2026, 10, 5),
        1264,
    )
    assert one("SELECT max(date) FROM core.nyse_breadth") == (date(2020, 2, 10),)
    # the session the NYSE source lacks is a known anomaly with its reason
    rule = query(
        updated,
        "SELECT success, reason FROM validation_results WHERE table_name = 'nyse_breadth' "
        "AND rule = 'a row for every NYSE session in the span' ORDER BY validation_id DESC",
    ).row(0)
    assert rule[0] and "2019-08-20: absent from the Unicorn breadth files" in rule[1]
    # the same update again changes nothing: no row, no revision
    folder = Path(str(runs["vx_futures"]["source"]).removeprefix("dir:"))
    ingest_flow(IngestParams(source=f"dir:{folder}", db=updated, as_of=date(2026, 11, 1)))
    assert one("SELECT count(*) FROM core.revisions") == (3,)
    assert one(
        "SELECT status FROM ingest_runs WHERE series = 'vx_futures' ORDER BY started_at DESC"
    ) == ("unchanged",)


def test_breadth_after_2015_names_its_series_and_stops_in_the_gap(updated: Path) -> None:
    rows = query(
        updated,
        "SELECT year(date) AS y, breadth_series, count(*) AS n, count(ad_macd) AS macd "
        "FROM signals.signals_daily WHERE year(date) IN (2017, 2023) OR date BETWEEN "
        "'2020-02-11' AND '2021-09-21' GROUP BY ALL ORDER BY ALL",
    ).rows()
    assert rows == [
        (2017, "NYSE issues", 251, 251),
        (2020, None, 226, 0),
        (2021, None, 181, 0),
        (2023, "S&P 500 members", 250, 250),
    ]


def test_books_are_priced_only_while_every_input_exists(updated: Path) -> None:
    from flows.backtest import read_inputs

    inputs = read_inputs(updated)
    bound = as_of_bound(inputs)
    # VX now runs to 2026-09-17 and SPX to 2026-08-21, but VIX ends 2026-07-23
    assert bound.last == {
        "SPX": date(2026, 8, 21),
        "VIX": date(2026, 7, 23),
        "VX futures": date(2026, 9, 17),
    }
    assert (bound.as_of, bound.bounded_by) == (date(2026, 7, 23), "VIX")
    run = backtest(inputs, BacktestParams(start_date=date(2026, 1, 2)))
    assert run.daily["date"].max() == date(2026, 7, 23)
    assert run.daily["equity"].is_finite().all()
