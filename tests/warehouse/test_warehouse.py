from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.conftest import holding
from transforms.columns import (
    BY_NAME,
    LINE,
    LOCATION,
    MACRO_MONTHLY,
    RAW,
    SIGNAL_TABLES,
    SPX_DAILY,
    Series,
)
from transforms.parse.common import REJECT_SCHEMA
from warehouse.db import SQL_DIR, has_table, migrate, run, schema_files, schema_version, sql
from warehouse.load import RunInfo, load_batch, load_signals, read_frame, record_validation
from warehouse.results import RESULT_TABLES

PROVENANCE = ["source", "ingest_run_id"]


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(":memory:")
    migrate(c)
    yield c
    c.close()


def test_migrations_are_idempotent_and_versioned(con: duckdb.DuckDBPyConnection) -> None:
    latest = max(n for n, _ in schema_files())
    assert schema_version(con) == latest
    assert migrate(con) == latest
    for _, path in schema_files():  # every file can be re-applied as is
        con.execute(path.read_text())
    assert con.sql("SELECT count(*) FROM schema_version").fetchall() == [(latest,)]


def test_every_schema_file_states_grain_and_primary_key() -> None:
    for _, path in schema_files():
        header = path.read_text().split("CREATE", 1)[0]
        assert "grain:" in header and "PK" in header, path.name


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_core_ddl_matches_the_column_registry(con: duckdb.DuckDBPyConnection, name: str) -> None:
    series = BY_NAME[name]
    rows = con.sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'core' AND table_name = ? ORDER BY ordinal_position",
        params=[name],
    ).fetchall()
    columns = [r[0] for r in rows]
    if series is MACRO_MONTHLY:
        assert columns == [
            "series_id",
            "reference_month",
            "vintage_date",
            *series.columns[2:],
            *PROVENANCE,
        ]
    else:
        assert columns == [*series.columns, *PROVENANCE]
    pk = con.sql(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = 'core' AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        params=[name],
    ).fetchall()[0][0]
    expected = [*series.key, "vintage_date"] if series is MACRO_MONTHLY else list(series.key)
    assert pk == expected


@pytest.mark.parametrize("series", SIGNAL_TABLES, ids=lambda s: s.name)
def test_signal_ddl_matches_the_column_registry(
    con: duckdb.DuckDBPyConnection, series: Series
) -> None:
    rows = con.sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'signals' AND table_name = ? ORDER BY ordinal_position",
        params=[series.name],
    ).fetchall()
    assert [r[0] for r in rows] == [*series.columns, "signal_run_id"]


def _incoming(series: Series, rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = {**series.schema, LINE: pl.Int64(), RAW: pl.String(), LOCATION: pl.String()}
    return pl.DataFrame(rows, schema=schema)


def test_every_sql_file_runs_on_an_in_memory_database(con: duckdb.DuckDBPyConnection) -> None:
    ran = set()
    for name, series in BY_NAME.items():
        empty = pl.DataFrame(
            schema={**series.schema, "source": pl.String(), "ingest_run_id": pl.String()}
        )
        con.register("incoming", empty)
        params = {"as_of": date(2026, 1, 1)} if series is MACRO_MONTHLY else None
        assert run(con, f"load/core_{name}", params).fetchall() == []
        con.unregister("incoming")
        ran.add(f"load/core_{name}")
    con.register(
        "incoming",
        pl.DataFrame(
            schema={
                "series": pl.String,
                "location": pl.String,
                "natural_key": pl.String,
                "line": pl.Int64,
                "payload": pl.String,
                "ingest_run_id": pl.String,
            }
        ),
    )
    run(con, "load/raw_rows").fetchall()
    con.unregister("incoming")
    con.register(
        "incoming",
        pl.DataFrame(schema={"series": pl.String, **REJECT_SCHEMA, "ingest_run_id": pl.String}),
    )
    run(con, "load/quarantine").fetchall()
    con.unregister("incoming")
    ran |= {"load/raw_rows", "load/quarantine", "load/ingest_run", "load/schema_version"}
    con.register("incoming", con.sql("SELECT * FROM core.revisions LIMIT 0").arrow())
    run(con, "load/revisions")
    con.unregister("incoming")
    ran.add("load/revisions")
    run(con, "load/ingest_fingerprint", {"series": "s", "fingerprint": "f", "run_id": "r"})
    ran.add("load/ingest_fingerprint")
    for series in SIGNAL_TABLES:
        assert load_signals(
            con,
            series=series,
            frame=pl.DataFrame(schema=series.schema),
            run_id="r",
            fingerprint="f",
        ) == (0, 0, 0)
        ran.add(f"load/signals_{series.name}")
    summary = {
        "table_name": "t",
        "suite": "t.suite",
        "rows_validated": 1,
        "evaluated": 2,
        "failed": 1,
        "warnings": 0,
        "success": False,
        "blocked": True,
        "summary": "s",
    }
    results = pl.DataFrame(
        [
            {
                "table_name": "t",
                "rule": "r",
                "frame": "table",
                "severity": "critical",
                "success": False,
                "unexpected": 1,
                "examples": ["date=2020-01-02"],
                "reason": "",
                "error": None,
            }
        ],
        schema_overrides={"error": pl.String},
    )
    record_validation(con, validation_id="v", summary=summary, results=results)
    assert read_frame(con, "query/last_validation").select("table_name", "blocked").rows() == [
        ("t", True)
    ]
    ran |= {"load/validation_run", "load/validation_results"}
    for table in RESULT_TABLES:  # each results load accepts its own table's shape
        con.register("incoming", con.sql(f"SELECT * FROM results.{table} LIMIT 0").arrow())
        run(con, f"load/results_{table}")
        con.unregister("incoming")
        ran.add(f"load/results_{table}")
    query_params = {
        "ingest_fingerprint": {"series": "s"},
        "sweep_results": {"sweep_id": "s"},
        "ledger_latest": {"config_hash": "c"},
        "ledger_book": {"config_hash": "c"},
        "sweep_results_incoming": {"sweep_id": "s"},
        "trials_on_snapshot": {"snapshot": "d", "source_id": "s"},
        "report_run": {"run_id": "r"},
        "report_run_daily": {"run_id": "r"},
        "report_run_trades": {"run_id": "r"},
        "report_sweep": {"sweep_id": "s"},
        "frontier": {"sweep_id": "s"},
        "report_replication_daily": {"run_id": "r"},
        "validation_issues": {"validation_id": "v"},
        "table_exists": {"schema": "results", "table": "trials"},
        "table_fingerprint": {"schema": "results", "table": "trials", "name": "results.trials"},
    }
    assert has_table(con, "results", "trials") and not has_table(con, "results", "nope")
    con.register("incoming", pl.DataFrame(schema={"config_hash": pl.String}))  # a sweep batch
    for path in sorted((SQL_DIR / "query").glob("*.sql")):
        result = read_frame(con, f"query/{path.stem}", query_params.get(path.stem))
        assert result.width > 0
        ran.add(f"query/{path.stem}")
    con.unregister("incoming")
    assert read_frame(con, "query/ingest_fingerprint", {"series": "s"}).rows() == [("f", "r")]
    run(
        con,
        "load/ingest_run",
        {
            "run_id": "r",
            "series": "s",
            "source": "x",
            "locations": ["a"],
            "started_at": datetime(2026, 1, 1),
            "finished_at": None,
            "rows_read": 1,
            "rows_skipped": 0,
            "rows_superseded": 0,
            "rows_inserted": 1,
            "rows_updated": 0,
            "rows_unchanged": 0,
            "rows_quarantined": 0,
            "status": "succeeded",
            "error": None,
            "warnings": ["w"],
        },
    )
    every = {
        f"{p.parent.name}/{p.stem}" for p in SQL_DIR.glob("*/*.sql") if p.parent.name != "schema"
    }
    assert every <= ran, every - ran
    assert sql("query/schema_version").startswith("--")


def _info(run_id: str, series: Series, as_of: date = date(2026, 1, 1)) -> RunInfo:
    return RunInfo(run_id, series.name, "test", datetime(2026, 1, 1), as_of)


def _load(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    frame: pl.DataFrame,
    series: Series = SPX_DAILY,
    rejects: pl.DataFrame | None = None,
    as_of: date = date(2026, 1, 1),
) -> tuple[int, int, int]:
    rejects = rejects if rejects is not None else pl.DataFrame(schema=REJECT_SCHEMA)
    c = load_batch(
        con,
        series=series,
        info=_info(run_id, series, as_of),
        core=frame,
        parsed=frame,
        rejects=rejects,
        locations=["f.csv"],
        rows_read=frame.height + rejects.height,
        rows_skipped=0,
    )
    return c.inserted, c.updated, c.unchanged


def _spx_row(d: date, close: float, line: int = 2) -> dict[str, object]:
    return {
        "date": d,
        "open": close,
        "high": close + 1,
        "low": close - 1,
        "close": close,
        "volume": 1,
        LINE: line,
        RAW: "r",
        LOCATION: "f.csv",
    }


def test_upsert_counts_inserted_updated_unchanged(con: duckdb.DuckDBPyConnection) -> None:
    d1, d2, d3 = date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 6)
    first = _incoming(SPX_DAILY, [_spx_row(d1, 10.0), _spx_row(d2, 11.0, 3)])
    assert _load(con, "r1", first) == (2, 0, 0)
    assert _load(con, "r2", first) == (0, 0, 2)
    newer = _incoming(SPX_DAILY, [_spx_row(d1, 10.0), _spx_row(d2, 11.5, 3), _spx_row(d3, 12.0, 4)])
    assert _load(con, "r3", newer) == (1, 1, 1)
    rows = con.sql("SELECT date, close, ingest_run_id FROM core.spx_daily ORDER BY date").fetchall()
    assert rows == [(d1, 10.0, "r1"), (d2, 11.5, "r3"), (d3, 12.0, "r3")]


def test_failed_batch_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    good = _incoming(SPX_DAILY, [_spx_row(date(2020, 1, 2), 10.0)])
    _load(con, "r1", good)
    before = {
        t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in ("core.spx_daily", "raw.rows", "quarantine", "ingest_runs")
    }
    bad_row = _spx_row(date(2020, 1, 3), 11.0) | {"close": None}  # violates NOT NULL in core
    bad = _incoming(SPX_DAILY, [_spx_row(date(2020, 1, 2), 99.0), bad_row])
    rejects = pl.DataFrame(
        [{"location": "f.csv", "line": 9, "raw": "x", "reason": "r"}], schema=REJECT_SCHEMA
    )
    with pytest.raises(duckdb.ConstraintException):
        _load(con, "r2", bad, rejects=rejects)
    after = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in before}
    assert after == before


def _macro(month: date, value: float, public: date) -> dict[str, object]:
    return {
        "series_id": "CPIAUCSL",
        "reference_month": month,
        "value": value,
        "public_date": public,
        "public_date_rule": "release calendar",
        LINE: 2,
        RAW: "r",
        LOCATION: "cpi.csv",
    }


def test_macro_revisions_are_kept_as_vintages(con: duckdb.DuckDBPyConnection) -> None:
    jan = date(2025, 1, 1)
    first = _incoming(MACRO_MONTHLY, [_macro(jan, 317.6, date(2025, 2, 12))])
    assert _load(con, "r1", first, MACRO_MONTHLY, as_of=date(2025, 3, 1)) == (1, 0, 0)
    assert _load(con, "r2", first, MACRO_MONTHLY, as_of=date(2025, 4, 1)) == (0, 0, 1)
    revised = _incoming(MACRO_MONTHLY, [_macro(jan, 317.9, date(2025, 2, 12))])
    assert _load(con, "r3", revised, MACRO_MONTHLY, as_of=date(2026, 2, 20)) == (1, 0, 0)
    vintages = con.sql(
        "SELECT vintage_date, value FROM core.macro_monthly ORDER BY vintage_date"
    ).fetchall()
    assert vintages == [(date(2025, 2, 12), 317.6), (date(2026, 2, 20), 317.9)]
    assert con.sql("SELECT value FROM core.macro_latest").fetchall() == [(317.9,)]
    known_mid_2025 = con.sql(
        "SELECT value FROM core.macro_monthly WHERE vintage_date <= DATE '2025-06-30' "
        "ORDER BY vintage_date DESC LIMIT 1"
    ).fetchall()
    assert known_mid_2025 == [(317.6,)]
    # The revised value again: nothing changes.
    assert _load(con, "r4", revised, MACRO_MONTHLY, as_of=date(2026, 3, 1)) == (0, 0, 1)


def test_reader_reports_a_busy_warehouse_by_its_holder(tmp_path: Path) -> None:
    import time

    from warehouse.db import WarehouseBusy, connect_reader, connect_writer

    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    with holding(db) as holder:
        started = time.monotonic()
        with pytest.raises(
            WarehouseBusy, match=rf"busy: process {holder.pid} \(.*duckdb.connect.* has it open"
        ):
            connect_reader(db, wait_seconds=0.5)
        assert time.monotonic() - started >= 0.5
    connect_reader(db).close()  # free again


def test_a_writer_waits_for_a_reader_with_progress_then_names_it(tmp_path: Path) -> None:
    from warehouse.db import LockWait, WarehouseBusy, connect_writer

    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    lines: list[str] = []
    policy = LockWait(seconds=1.5, every=0.5, notify=lines.append)
    with (
        holding(db, read_only=True) as holder,
        pytest.raises(
            WarehouseBusy,
            match=rf"busy: process {holder.pid} \(.*read_only=True.*\) has it open \(waited 2 s\)",
        ),
    ):
        connect_writer(db, policy=policy)
    assert len(lines) >= 2 and lines[0].startswith(f"waiting for the warehouse {db}: process")
    # A reader that lets go within the wait: the writer gets the file.
    with holding(db, read_only=True) as holder:
        threading.Timer(0.5, holder.kill).start()
        connect_writer(db, policy=LockWait(seconds=10, notify=lines.append)).close()


def test_result_tables_hold_every_parameter_and_metric_as_a_column(
    con: duckdb.DuckDBPyConnection,
) -> None:
    from transforms.backtest.metric_registry import METRICS
    from transforms.backtest.params import NAMES

    def columns(table: str) -> list[str]:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'results' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    # added by later migrations at the end: the same columns, in an order of their own
    stored = columns("sweep_results")
    assert stored[:2] == ["sweep_id", "config_hash"]
    assert sorted(stored[2:]) == sorted(["returns_hash", *NAMES, *METRICS, "ruin_date"])
    assert sorted(columns("backtest_metrics")) == sorted(["run_id", *METRICS, "ruin_date"])
    types = dict(con.execute(
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'results' AND column_name IN ('ruined', 'ruin_date') "
        "AND table_name IN ('backtest_metrics', 'sweep_results')"
    ).fetchall())  # fmt: skip
    assert types == {
        f"{t}.{c}": k
        for t in ("backtest_metrics", "sweep_results")
        for c, k in (("ruined", "BOOLEAN"), ("ruin_date", "DATE"))
    }


def test_a_writer_refuses_result_tables_that_differ_from_the_metric_registry(
    tmp_path: Path,
) -> None:
    """Every writer connection checks the metric columns against the registry: a column
    of another type, or a missing one, stops it with the table, column and both types."""
    from warehouse.db import SchemaMismatch, check_metric_columns, connect_writer

    db = tmp_path / "w.duckdb"
    connect_writer(db).close()  # migrated and checked
    raw = duckdb.connect(str(db))
    raw.execute("ALTER TABLE results.sweep_results ALTER turnover TYPE VARCHAR")
    with pytest.raises(
        SchemaMismatch, match=r"results.sweep_results.turnover: .* DOUBLE, .* VARCHAR"
    ):
        check_metric_columns(raw)
    raw.execute("ALTER TABLE results.backtest_metrics DROP COLUMN calmar")
    raw.close()
    with pytest.raises(SchemaMismatch, match=r"results.backtest_metrics.calmar: .* no such column"):
        connect_writer(db)


def test_a_sweep_streams_in_batches_and_counts_each_row_once(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse import results
    from warehouse.results import write_sweep

    monkeypatch.setattr(results, "SWEEP_BATCH", 2)  # five rows: three batches
    shape = pl.from_arrow(con.sql("SELECT * FROM results.sweep_results LIMIT 0").to_arrow_table())
    assert isinstance(shape, pl.DataFrame)
    given = {
        "sweep_id": ["s"] * 5,
        "config_hash": [f"c{k}" for k in range(5)],
        "sharpe": [0.1, 0.2, float("nan"), 0.4, 0.5],
    }
    rows = pl.DataFrame({c: given.get(c, [None] * 5) for c in shape.columns}, schema=shape.schema)
    sweep = {
        "sweep_id": "s", "grid": "{}", "configurations": 5, "groups": 1, "code_version": "c",
        "data_snapshot": "d", "holdout_start": date(2018, 1, 1), "rank_metric": "sharpe",
        "top_n": 0, "status": "succeeded", "started_at": datetime(2026, 1, 1),
    }  # fmt: skip
    assert write_sweep(con, sweep=sweep, results=rows.lazy(), top=[]) == (5, 0, 0)
    assert write_sweep(con, sweep=sweep, results=rows, top=[]) == (0, 0, 5)  # NaN equals NaN
    changed = rows.with_columns(
        pl.when(pl.col("config_hash") == "c3").then(9.0).otherwise(pl.col("sharpe")).alias("sharpe")
    )
    assert write_sweep(con, sweep=sweep, results=changed.lazy(), top=[]) == (0, 1, 4)
    stored = con.sql("SELECT config_hash, sharpe FROM results.sweep_results ORDER BY 1").fetchall()
    assert len(stored) == 5 and stored[3] == ("c3", 9.0)


def test_a_warehouse_that_cannot_be_read_publishes_nothing(tmp_path: Path) -> None:
    from warehouse.db import WarehouseUnreadable, export_path, publish_snapshot, snapshot_path

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        migrate(con)
        con.execute(
            "INSERT INTO core.vix_daily SELECT DATE '1990-01-02' + i::INTEGER, 10 + i % 7, "
            "20 + i % 7, 5 + i % 7, 12 + i % 7, 'x', 'r' FROM range(300000) t(i)"
        )
    snapshot = publish_snapshot(db)
    published = {p: p.read_bytes() for p in [snapshot, *export_path(db).iterdir()]}
    with db.open("r+b") as fh:  # a torn write: the file ends half-way
        fh.truncate(db.stat().st_size // 8)
    with pytest.raises(
        WarehouseUnreadable,
        match=rf"{db} cannot be read .*nothing was "
        rf"published from it; the last good snapshot {snapshot_path(db)} is kept",
    ):
        publish_snapshot(db)
    assert {p: p.read_bytes() for p in [snapshot, *export_path(db).iterdir()]} == published
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "w.duckdb", "w.snapshot.duckdb"]


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Each Parquet file's inode and modification time (a file written again differs)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.parquet")}


def test_the_export_rewrites_only_the_tables_that_changed(tmp_path: Path) -> None:
    from warehouse.db import FINGERPRINTS, connect_writer, export_path, publish_snapshot

    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    publish_snapshot(db)
    folder = export_path(db)
    first = _files(folder)
    assert "core.fomc_meetings.parquet" in first and (folder / FINGERPRINTS).is_file()
    publish_snapshot(db)  # nothing changed: no file is written again
    assert _files(folder) == first
    con = connect_writer(db)
    con.execute(
        "INSERT INTO core.fomc_meetings VALUES ('2026-01-28', true, true, false, 'x', 's', 'r')"
    )
    con.close()
    (folder / "core.vix_daily.parquet").unlink()  # a file gone is written again
    publish_snapshot(db)
    now = _files(folder)
    changed = sorted(name for name in now if now[name] != first[name])
    assert changed == ["core.fomc_meetings.parquet", "core.vix_daily.parquet"]
    assert pl.read_parquet(folder / "core.fomc_meetings.parquet")["date"].to_list() == [
        date(2026, 1, 28)
    ]
    (folder / FINGERPRINTS).write_text("{not json")  # unreadable: every table is written
    publish_snapshot(db)
    assert all(written != now[name] for name, written in _files(folder).items())
