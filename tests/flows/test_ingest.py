"""The ingest flow on real data, and every bad-input path end to end."""

from __future__ import annotations

import gzip
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.ingest import IngestFailed, IngestParams, ingest_flow
from tests.conftest import (
    copy_data,
    holding,
    prefect_env,
    prefect_server,
    query,
    table_fingerprints,
)

Query = Callable[..., pl.DataFrame]
AS_OF = date(2026, 11, 1)


def _ingest(folder: Path, db: Path, as_of: date = AS_OF) -> list[str]:
    return ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=as_of))


def _runs(sql: Query, db: Path) -> dict[str, dict[str, object]]:
    frame = sql(
        db,
        "SELECT * FROM ingest_runs WHERE run_id = "
        "(SELECT run_id FROM ingest_runs ORDER BY started_at DESC LIMIT 1)",
    )
    return {r["series"]: r for r in frame.iter_rows(named=True)}


def test_real_data_answers_the_acceptance_queries(real_warehouse: Path, sql: Query) -> None:
    one = lambda q: sql(real_warehouse, q).row(0)  # noqa: E731
    assert one("SELECT close FROM core.spx_daily WHERE date = '2020-03-23'") == (2237.40,)
    assert one("SELECT close FROM core.vix_daily WHERE date = '2008-11-20'") == (80.86,)
    curve = sql(
        real_warehouse,
        "SELECT contract, settle FROM core.vx_term_structure "
        "WHERE trade_date = '2020-03-16' AND month <= 3 ORDER BY month",
    ).rows()
    assert curve == [("VXH20", 72.625), ("VXJ20", 59.15), ("VXK20", 44.875)]
    assert one("SELECT max(date) FROM core.nyse_breadth") == (date(2015, 11, 11),)
    assert one(
        "SELECT value, public_date, public_date_rule FROM core.macro_latest "
        "WHERE series_id = 'CPIAUCSL' AND reference_month = '2024-03-01'"
    ) == (312.345, date(2024, 4, 10), "release calendar")
    counts = dict(
        sql(
            real_warehouse,
            "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name='core'",
        ).rows()
    )
    assert counts["vx_futures"] == 52958 and counts["spx_daily"] == 24777
    runs = _runs(sql, real_warehouse)
    assert runs.pop("sp500_breadth")["status"] == "absent"  # it comes with the 2026-09 update
    assert {r["status"] for r in runs.values()} == {"succeeded"}
    assert all(r["rows_quarantined"] == 0 for r in runs.values())
    # The three bad 2008 prints are kept, flagged, and out of the curve.
    assert one("SELECT count(*) FROM core.vx_futures WHERE suspect_settle") == (3,)


def test_ingesting_twice_changes_nothing(
    real_warehouse: Path, shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    db = tmp_path / "again.duckdb"
    shutil.copy(real_warehouse, db)
    before = table_fingerprints(db)
    # Same inputs: every series is recognised as unchanged and not read again.
    _ingest(shared_data, db)
    assert table_fingerprints(db) == before
    runs = _runs(sql, db)
    calendar = runs.pop("trading_calendar")  # regenerated from the package, merged
    assert (calendar["rows_inserted"], calendar["rows_updated"]) == (0, 0)
    assert runs.pop("sp500_breadth")["status"] == "absent"  # comes with the 2026-09 update
    assert {r["status"] for r in runs.values()} == {"unchanged"}, runs
    # Forced: everything is re-read, re-checked and merged, and still nothing changes.
    ingest_flow(IngestParams(source=f"dir:{shared_data}", db=db, as_of=AS_OF, force=True))
    assert table_fingerprints(db) == before
    runs = _runs(sql, db)
    assert runs.pop("sp500_breadth")["status"] == "absent"
    assert all(r["rows_inserted"] == 0 and r["rows_updated"] == 0 for r in runs.values()), runs
    assert runs["vx_futures"]["rows_unchanged"] == 52958


def test_newer_overlapping_file_updates_only_changed_rows(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    lines = (folder / "vix_daily.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    # A newer file: two closes revised within tolerance (0.05 point, inside the bar), one
    # new day.
    revised = {}
    for i in (-1, -2):
        day, open_, high, low, close = body[i].split(",")
        new = round(float(close) + 0.05, 2)
        assert float(low) <= new <= float(high) and abs(new / float(close) - 1) < 0.01
        body[i] = ",".join([day, open_, high, low, f"{new:.2f}"])
        revised[date.fromisoformat(day)] = (float(close), new, len(body) + i + 2)
    body.append("2026-07-24,16.00,17.50,15.90,17.10")
    (folder / "vix_daily.csv").write_text("\n".join([header, *body]) + "\n")
    _ingest(folder, db)
    run = _runs(sql, db)["vix_daily"]
    assert (run["rows_inserted"], run["rows_updated"], run["rows_unchanged"]) == (
        1,
        2,
        len(body) - 3,
    )
    assert "2 rows revised (2 values; the stored values are kept in core.revisions)" in str(
        run["warnings"]
    )
    assert sql(db, "SELECT close FROM core.vix_daily WHERE date = '2026-07-24'").row(0) == (17.10,)
    kept = sql(
        db, "SELECT natural_key, stored_value, new_value, line FROM core.revisions "
        "WHERE series = 'vix_daily' AND column_name = 'close' ORDER BY natural_key",
    )  # fmt: skip
    assert [(date.fromisoformat(k), float(o), float(n), line) for k, o, n, line in kept.rows()] == [
        (day, *revised[day]) for day in sorted(revised)
    ]


def test_a_restated_value_beyond_tolerance_is_refused_naming_file_line_and_stored_value(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    before = table_fingerprints(db)
    lines = (folder / "vix_daily.csv").read_text().splitlines()
    day, open_, high, low, close = lines[-3].split(",")
    lines[-3] = ",".join([day, open_, f"{float(high) + 10:.2f}", low, f"{float(close) + 10:.2f}"])
    lines.append("2026-07-24,16.00,17.50,15.90,17.10")
    (folder / "vix_daily.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestFailed) as failed:
        _ingest(folder, db)
    text = str(failed.value)
    assert "vix_daily: the input restates 2 stored values beyond tolerance" in text
    assert f"{day} close: stored {float(close)}" in text
    assert f"vix_daily.csv line {len(lines) - 3} says {float(close) + 10:.2f}" in text
    assert table_fingerprints(db)["core.vix_daily"] == before["core.vix_daily"]  # nothing
    forced = ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=AS_OF, force=True))
    assert forced and sql(db, "SELECT count(*) FROM core.revisions").row(0) == (2,)
    assert sql(db, f"SELECT close FROM core.vix_daily WHERE date = '{day}'").row(0) == (
        round(float(close) + 10, 2),
    )


def test_malformed_rows_are_quarantined_and_the_rest_loads(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data)
    text = gzip.decompress((shared_data / "spx_daily.csv.gz").read_bytes()).decode().splitlines()
    text[5] = "1928-01-09,17.50,17.50,17.50,-17.50,0"  # negative close
    text[6] = "not-a-date,17.5,17.5,17.5,17.5,0"
    text.insert(8, text[7].replace(text[7].split(",")[4], "99.99", 1))  # conflicting duplicate
    for i, (col, value) in zip((20, 21, 22), ((4, "NaN"), (2, "inf"), (5, "-300")), strict=True):
        fields = text[i].split(",")
        fields[col] = value
        text[i] = ",".join(fields)
    text.append("0001-01-01,17.5,17.5,17.5,17.5,0")
    (folder / "spx_daily.csv").write_text("\n".join(text) + "\n")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    q = sql(db, "SELECT location, line, reason FROM quarantine ORDER BY line")
    assert q["location"].to_list() == [str(folder / "spx_daily.csv")] * 8
    reasons = dict(zip(q["line"], q["reason"], strict=True))
    assert reasons[6] == "non-positive close: -17.5"
    assert reasons[7] == "unparseable date in column 'date': 'not-a-date'"
    assert reasons[8] == reasons[9] == "duplicate key with conflicting values (lines 8, 9)"
    # Non-finite values, negative counts and impossible dates: quarantined by row too.
    assert reasons[21] == "non-finite close: NaN"
    assert reasons[22] == "non-finite high: inf"
    assert reasons[23] == "negative volume: -300"
    assert reasons[len(text)] == (
        "date 0001-01-01 before the series' earliest plausible date 1927-12-30"
    )
    run = _runs(sql, db)["spx_daily"]
    assert run["rows_quarantined"] == 8
    assert run["rows_inserted"] == 24777 - 6
    # Quarantine keeps the raw text of the row.
    assert sql(db, "SELECT raw FROM quarantine WHERE line = 6").row(0) == (
        "1928-01-09,17.50,17.50,17.50,-17.50,0",
    )


def test_unreadable_file_fails_its_series_only_and_keeps_core(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv", "vvix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    before = table_fingerprints(db)
    # A newer VIX file that is an HTML error page, and a VVIX file with one new day.
    (folder / "vix_daily.csv").write_text("<!DOCTYPE html><html>503 Service Unavailable</html>")
    with (folder / "vvix_daily.csv").open("a") as fh:
        fh.write("2026-07-23,96.10\n")
    with pytest.raises(IngestFailed) as err:
        _ingest(folder, db)
    message = str(err.value)
    assert "1 series failed" in message
    assert f"vix_daily: {folder / 'vix_daily.csv'}: not a CSV file" in message
    runs = _runs(sql, db)
    assert runs["vix_daily"]["status"] == "failed"
    assert "not a CSV file" in str(runs["vix_daily"]["error"])
    assert runs["vvix_daily"]["status"] == "succeeded" and runs["vvix_daily"]["rows_inserted"] == 1
    after = table_fingerprints(db)
    assert after["core.vix_daily"] == before["core.vix_daily"]
    assert after["core.vvix_daily"] != before["core.vvix_daily"]


def test_truncated_gzip_in_a_multi_file_series_writes_nothing_of_it(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data)
    vx = folder / "deep" / "er"
    vx.mkdir(parents=True)
    for name in ("VX_2020-03-18.csv", "VX_2020-04-15.csv"):
        shutil.copy(shared_data / "vendor" / "cboe" / "vx" / name, vx / name)
    data = gzip.compress(
        (shared_data / "vendor" / "cboe" / "vx" / "VX_2020-02-19.csv").read_bytes()
    )
    (vx / "VX_2020-02-19.csv.gz").write_bytes(data[: len(data) // 2])
    db = tmp_path / "w.duckdb"
    with pytest.raises(IngestFailed, match="truncated gzip"):
        _ingest(folder, db)
    assert sql(db, "SELECT count(*) FROM core.vx_futures").row(0) == (0,)
    assert sql(db, "SELECT count(*) FROM raw.rows WHERE series = 'vx_futures'").row(0) == (0,)


def test_partial_folder_loads_what_is_there_and_reports_the_rest_absent(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data)
    nested = folder / "downloads" / "2026"
    nested.mkdir(parents=True)
    shutil.copy(shared_data / "vendor" / "cboe" / "VIX_History.csv", nested / "VIX_History.csv")
    shutil.copy(
        shared_data / "vendor" / "cboe" / "vx" / "CFE_K06_VX.csv", folder / "CFE_K06_VX.csv"
    )
    (folder / "notes.txt").write_text("my notes")
    db = tmp_path / "w.duckdb"
    lines = _ingest(folder, db)
    runs = _runs(sql, db)
    assert runs["vix_daily"]["status"] == "succeeded" and runs["vix_daily"]["rows_inserted"] == 9234
    assert runs["vx_futures"]["rows_inserted"] == 186
    assert runs["spx_daily"]["status"] == "absent"
    assert "spx_daily: absent from dir:" in "\n".join(lines)
    # K06 was quoted at 10x before 2007-03-26: stored in VIX points.
    assert sql(db, "SELECT settle FROM core.vx_futures WHERE trade_date = '2006-05-17'").row(0) == (
        14.025,
    )


def test_curated_files_come_before_publisher_copies(
    shared_data: Path, holidays: frozenset[date]
) -> None:
    from flows.sources import DirSource

    plan = DirSource(shared_data).plan(holidays=holidays)
    vix = [Path(i.location).name for i in plan.items["vix_daily"]]
    assert vix == ["vix_daily.csv", "VIX_History.csv"]
    vx = [Path(i.location).name for i in plan.items["vx_futures"]]
    assert vx[0] == "vx_futures_daily.csv.gz" and len(vx) == 8
    assert all(i.kind is not None and not i.kind.curated for i in plan.items["vx_futures"][1:])


def _vix_lines(shared_data: Path) -> tuple[str, list[str]]:
    lines = (shared_data / "vix_daily.csv").read_text().splitlines()
    return lines[0], lines[1:]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], "no valid rows (0 rows read, 0 quarantined)"),
        (
            ["06/12/2019,2882.73,2888.57,2874.68,2879.84,3034130000"] * 1
            + ["06/13/2019,2886.24,2895.24,2881.99,2891.64,3069810000"],
            "no valid rows (2 rows read, 2 quarantined; e.g. line 2: unparseable date",
        ),
    ],
    ids=["header-only", "mm-dd-yyyy"],
)
def test_a_file_with_no_valid_row_fails_its_series_and_keeps_the_rejects(
    tmp_path: Path, sql: Query, body: list[str], expected: str
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "spx_daily.csv").write_text("\n".join(["date,open,high,low,close,volume", *body]))
    db = tmp_path / "w.duckdb"
    with pytest.raises(IngestFailed, match="1 series failed") as err:
        _ingest(folder, db)
    assert f"spx_daily: nothing loaded: {folder / 'spx_daily.csv'}: {expected}" in str(err.value)
    run = _runs(sql, db)["spx_daily"]
    assert run["status"] == "failed" and expected in str(run["error"])
    assert sql(db, "SELECT count(*) FROM core.spx_daily").row(0) == (0,)
    # The rows that explain the failure are kept with their reasons.
    assert sql(db, "SELECT count(*) FROM quarantine").row(0) == (len(body),)


def test_a_file_above_the_quarantine_limit_fails_and_one_below_loads(
    shared_data: Path, sql: Query, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, body = _vix_lines(shared_data)
    # 10 of 100 rows dated after the as-of date (quarantined without leaving a gap).
    body = body[-90:] + [f"2031-01-{d:02},20,21,19,20.5" for d in range(2, 12)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vix_daily.csv").write_text("\n".join([header, *body]) + "\n")
    db = tmp_path / "w.duckdb"
    with pytest.raises(
        IngestFailed, match=r"10.0% of its rows quarantined \(limit 5%.*e.g. line 92: date after"
    ):
        _ingest(folder, db)
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (0,)
    assert sql(db, "SELECT count(*) FROM quarantine").row(0) == (10,)
    monkeypatch.setenv("ALVH_MAX_QUARANTINE_SHARE", "0.2")
    _ingest(folder, db)
    assert _runs(sql, db)["vix_daily"]["rows_quarantined"] == 10
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (90,)


def test_two_copies_of_a_series_that_disagree_are_refused_naming_both(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    header, body = _vix_lines(shared_data)
    folder = tmp_path / "in"
    for name, last in (("a", body[-1]), ("b", body[-1].replace(",18.70", ",28.70"))):
        (folder / name).mkdir(parents=True)
        (folder / name / "vix_daily.csv").write_text("\n".join([header, *body[:-1], last]) + "\n")
    db = tmp_path / "w.duckdb"
    with pytest.raises(
        IngestFailed,
        match=(
            rf"vix_daily: nothing loaded: vix_daily: files of one kind disagree: 1 keys differ "
            rf"between {folder}/a/vix_daily.csv and {folder}/b/vix_daily.csv \(e\.g\. "
            rf"date=2026-07-23: line {len(body) + 1} against line {len(body) + 1}\)"
        ),
    ):
        _ingest(folder, db)
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (0,)


def test_a_row_dated_after_the_as_of_date_is_quarantined_by_name(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    header, body = _vix_lines(shared_data)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vix_daily.csv").write_text(
        "\n".join([header, *body, "2031-01-01,20,21,19,20.5"]) + "\n"
    )
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    row = sql(db, "SELECT location, line, raw, reason FROM quarantine").row(0, named=True)
    assert row == {
        "location": str(folder / "vix_daily.csv"),
        "line": len(body) + 2,
        "raw": "2031-01-01,20,21,19,20.5",
        "reason": f"date after the run's as-of date {AS_OF}: date 2031-01-01",
    }
    assert sql(db, "SELECT max(date) FROM core.vix_daily").row(0) == (date(2026, 7, 23),)


def test_a_newer_file_missing_a_stored_session_loads_with_a_recorded_warning(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    header, body = _vix_lines(shared_data)
    body = [line for line in body if not line.startswith("2019-06-12,")]
    body.append("2026-07-24,16.00,17.50,15.90,17.10")
    (folder / "vix_daily.csv").write_text("\n".join([header, *body]) + "\n")
    lines = _ingest(folder, db)
    run = _runs(sql, db)["vix_daily"]
    assert run["status"] == "succeeded" and run["rows_inserted"] == 1
    warning = "the input lacks 1 row, e.g. 2019-06-12 that the warehouse holds (kept as stored)"
    assert run["warnings"] == [warning]
    assert any(warning in line for line in lines)
    assert sql(db, "SELECT count(*) FROM core.vix_daily WHERE date = '2019-06-12'").row(0) == (1,)


def test_an_input_that_would_shrink_the_history_fails_unless_forced(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    before = table_fingerprints(db)
    header, body = _vix_lines(shared_data)
    half = body[: len(body) // 2]
    (folder / "vix_daily.csv").write_text("\n".join([header, *half]) + "\n")
    with pytest.raises(IngestFailed, match=r"vix_daily: nothing loaded: vix_daily: the input ends"):
        _ingest(folder, db)
    assert "--force loads it anyway" in str(_runs(sql, db)["vix_daily"]["error"])
    assert table_fingerprints(db)["core.vix_daily"] == before["core.vix_daily"]
    ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=AS_OF, force=True))
    assert _runs(sql, db)["vix_daily"]["status"] == "succeeded"
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (len(body),)


def test_a_batch_that_fails_validation_keeps_its_quarantine_and_rule_results(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    header, body = _vix_lines(shared_data)
    body = body[5000:5300]
    dropped = body.pop(150).split(",")[0]  # a missing session: a critical calendar rule
    body[10] = ",".join([*body[10].split(",")[:4], "-1"])  # a malformed row
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "vix_daily.csv").write_text("\n".join([header, *body]) + "\n")
    db = tmp_path / "w.duckdb"
    with pytest.raises(IngestFailed, match="a row for every NYSE session in the span"):
        _ingest(folder, db)
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (0,)
    assert sql(db, "SELECT line, reason FROM quarantine").rows() == [
        (12, "non-positive close: -1.0")
    ]
    blocked = sql(
        db,
        "SELECT r.rule, r.examples FROM validation_runs v JOIN validation_results r "
        "USING (validation_id, table_name) WHERE v.blocked AND NOT r.success",
    ).rows()
    assert [rule for rule, _ in blocked] == ["a row for every NYSE session in the span"]
    assert any(dropped in e for e in blocked[0][1])


def test_a_folder_with_no_recognised_file_fails(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("nothing here")
    with pytest.raises(IngestFailed, match=r"holds no input of any series \(1 files seen"):
        _ingest(folder, tmp_path / "w.duckdb")


def test_ingest_waits_for_a_reader_then_stops_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli.main import EXIT_BUSY, main
    from warehouse.db import connect_writer

    monkeypatch.setenv("ALVH_LOCK_WAIT", "1")  # the command line applies it where it starts
    db = tmp_path / "w.duckdb"
    connect_writer(db).close()
    with holding(db, read_only=True) as holder:
        assert main(["ingest", "--source", "synthetic", "--db", str(db)]) == EXIT_BUSY
    err = capsys.readouterr().err
    assert f"error: the warehouse {db} is busy: process {holder.pid}" in err
    assert "has it open (waited 1 s)" in err and "Traceback" not in err


STEP = re.compile(r"^  (?!not loaded|warning)[a-z0-9_]+: ")
"""A line the ingest prints as a step ends: a series loaded (or not), the VX curve built."""


def _walk_boundaries(source: Path, db: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """Run the ingest again and again on ``db``, killing run k after its k-th step
    (SIGKILL and SIGINT in turn), until a run ends on its own; the steps killed after."""
    args = [sys.executable, "-m", "cli", "ingest", "--source", f"dir:{source}"]
    args += ["--db", str(db), "--as-of", AS_OF.isoformat()]
    walked: list[tuple[str, str]] = []
    while True:
        signum = signal.SIGKILL if len(walked) % 2 == 0 else signal.SIGINT
        steps = []
        with subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env) as run:
            assert run.stdout is not None
            for line in run.stdout:
                if STEP.match(line):
                    steps.append(line.split(":", 1)[0].strip())
                    if len(steps) == len(walked) + 1:
                        run.send_signal(signum)
                        break
            run.wait()
        if len(steps) <= len(walked):  # no boundary left: the run ended on its own
            assert run.returncode == 0
            return walked
        walked.append((steps[-1], signal.Signals(signum).name))


@pytest.mark.slow
def test_an_ingest_interrupted_at_every_step_boundary_converges(
    shared_data: Path, real_warehouse: Path, tmp_path: Path
) -> None:
    """Kill (SIGKILL and SIGINT in turn) one run after each step boundary in turn, each
    run resuming the last one's warehouse; then the warehouse must hold exactly what one
    uninterrupted run stores."""
    db = tmp_path / "w.duckdb"
    with prefect_server(tmp_path / "prefect") as api:  # one server for the dozen runs
        env = prefect_env(tmp_path / "prefect", PREFECT_API_URL=api, PYTHONUNBUFFERED="1")
        walked = _walk_boundaries(shared_data, db, env)
    assert len(walked) == 12 and walked[4] == ("vvix_daily", "SIGKILL")
    assert walked[5] == ("vx_futures", "SIGINT") and walked[-1][0] == "vx_term_structure"

    def content(warehouse: Path, table: str) -> pl.DataFrame:
        return query(warehouse, f"SELECT * EXCLUDE (ingest_run_id) FROM {table} ORDER BY ALL")

    core = query(
        real_warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'core'"
    )
    for (name,) in core.rows():
        assert content(db, f"core.{name}").equals(content(real_warehouse, f"core.{name}")), name
    # ...and a run after it has nothing to load or repair
    lines = _ingest(shared_data, db)
    assert "vx curve tables: built from the VX futures as stored, not rebuilt" in lines
    runs = _runs(query, db)
    assert {r["status"] for n, r in runs.items() if n != "trading_calendar"} <= {
        "unchanged",
        "absent",
    }, runs


def test_an_fomc_calendar_in_the_past_is_named_by_the_run(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "fomc_meetings.csv")
    lines = _ingest(folder, tmp_path / "w.duckdb", as_of=date(2027, 1, 15))
    named = "warning: fomc_meetings: the last scheduled meeting listed, 2026-12-09, is in the past"
    assert any(line.startswith(named) for line in lines), lines


def test_unrecognised_files_are_summarised_past_ten() -> None:
    from flows.ingest import not_loaded

    ignored = [(f"f{i}.txt", "not a recognised series file") for i in range(5000)]
    lines = not_loaded(ignored)
    assert len(lines) == 11 and lines[0] == "not loaded: f0.txt (not a recognised series file)"
    assert lines[-1] == "not loaded: 4990 more files (not shown)"
    assert not_loaded(ignored[:3]) == [
        f"not loaded: f{i}.txt (not a recognised series file)" for i in range(3)
    ]
