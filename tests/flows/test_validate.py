"""Validation inside the ingest, `alvh validate`, and GX's manners (no network, no home)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from cli.main import EXIT_FAILED, EXIT_USAGE, main
from flows.ingest import IngestFailed, IngestParams, ingest_flow
from tests.conftest import REPO, copy_data, table_fingerprints

Query = Callable[..., pl.DataFrame]


def _ingest(folder: Path, db: Path) -> list[str]:
    return ingest_flow(IngestParams(source=f"dir:{folder}", db=db, as_of=date(2026, 11, 1)))


def test_bad_batch_fails_its_series_only_and_core_keeps_its_last_good_state(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv", "vvix_daily.csv")
    db = tmp_path / "w.duckdb"
    _ingest(folder, db)
    before = table_fingerprints(db)
    # A newer VIX file with an impossible close on a new day; VVIX adds a good day.
    with (folder / "vix_daily.csv").open("a") as fh:
        fh.write("2026-07-24,16.00,517.50,15.90,517.10\n")
    with (folder / "vvix_daily.csv").open("a") as fh:
        fh.write("2026-07-23,96.10\n")
    with pytest.raises(IngestFailed) as err:
        _ingest(folder, db)
    message = str(err.value)
    assert "1 series failed" in message
    assert "vix_daily: rule 'close within [5, 150]' failed: 1 rows, e.g. date=2026-07-24" in message
    after = table_fingerprints(db)
    assert after["core.vix_daily"] == before["core.vix_daily"]  # nothing of the batch
    assert sql(
        db,
        "SELECT count(*) FROM raw.rows WHERE series = 'vix_daily' AND natural_key = '2026-07-24'",
    ).row(0) == (0,)
    assert sql(db, "SELECT close FROM core.vvix_daily WHERE date = '2026-07-23'").row(0) == (96.10,)
    blocked = sql(
        db, "SELECT table_name, failed, summary FROM validation_runs WHERE blocked"
    ).rows()
    assert [(t, n) for t, n, _ in blocked] == [("vix_daily", 2)]  # close and high
    assert "date=2026-07-24" in blocked[0][2]
    runs = dict(
        sql(
            db,
            "SELECT series, status FROM ingest_runs WHERE run_id = "
            "(SELECT max(run_id) FROM ingest_runs)",
        ).rows()
    )
    assert runs["vix_daily"] == "failed" and runs["vvix_daily"] == "succeeded"


def test_first_load_missing_a_trading_day_is_not_promoted(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    lines = (shared_data / "vix_daily.csv").read_text().splitlines()
    (folder / "vix_daily.csv").write_text(
        "\n".join(line for line in lines if not line.startswith("2019-06-12,")) + "\n"
    )
    db = tmp_path / "w.duckdb"
    with pytest.raises(IngestFailed) as err:
        _ingest(folder, db)
    assert (
        "vix_daily: rule 'a row for every NYSE session in the span' failed: 1 rows, "
        "e.g. date=2019-06-12" in str(err.value)
    )
    assert sql(db, "SELECT count(*) FROM core.vix_daily").row(0) == (0,)
    failed = sql(
        db, "SELECT examples FROM validation_results WHERE NOT success AND severity = 'critical'"
    )
    assert failed["examples"].to_list() == [["date=2019-06-12"]]


def test_cpi_release_dated_inside_its_month_is_rejected(
    shared_data: Path, sql: Query, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    text = (shared_data / "cpi_release_dates_partial.csv").read_text()
    (folder / "cpi_release_dates_partial.csv").write_text(
        text.replace("2024-04-10,2024-03,", "2024-03-28,2024-03,")
    )
    db = tmp_path / "w.duckdb"
    with pytest.raises(
        IngestFailed,
        match=r"release_dates: rule 'released after its reference month ended' failed: 1 rows, e\.g\. release=CPI reference_month=2024-03-01",
    ):
        _ingest(folder, db)
    assert sql(db, "SELECT count(*) FROM core.release_dates").row(0) == (0,)


def test_alvh_validate_reports_and_writes_html(
    real_warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(real_warehouse, db)
    assert main(["validate", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "vx_futures" in out and "FAIL" not in out
    assert "vix_daily: rule 'open <= high' warning: 20 rows" in out
    report = Path(out.strip().splitlines()[-1].removeprefix("report: "))
    assert report.is_file() and report.parent == tmp_path / "validation"
    html = report.read_text()
    assert "vx_futures: 52,958 rows, passed</h2>" in html
    assert "global-trading-hours" in html  # the reasons travel with the rules
    assert (tmp_path / "validation" / "latest.html").read_text() == html

    # Something changed the table behind the pipeline's back: validate says so.
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM core.vix_daily WHERE date = '2019-06-12'")
    con.close()
    assert main(["validate", "--db", str(db), "vix_daily"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "FAIL" in out and "date=2019-06-12" in out
    assert main(["validate", "--db", str(db), "nope"]) == EXIT_USAGE
    assert "no suite for nope" in capsys.readouterr().err
    # A VX settle changed behind the curve's back: the curve no longer follows its inputs.
    con = duckdb.connect(str(db))
    con.execute("UPDATE core.vx_futures SET settle = settle + 0.5 WHERE contract = 'VXN20'")
    con.close()
    assert main(["validate", "--db", str(db), "vix3m_daily"]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "FAIL core.vx_term_structure: built from other VX futures than those stored" in out


PROBE = r"""
import os, sys
events = []
def hook(event, args):
    if event == "socket.connect":
        events.append(("connect", str(args[1])))
    elif event == "open" and isinstance(args[0], str) and args[0].startswith(os.environ["HOME"]):
        if args[1] not in (None, "r", "rb") or (len(args) > 2 and args[2] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)):
            events.append(("write", args[0]))
sys.addaudithook(hook)
import polars as pl
import great_expectations.expectations as gxe
from expectations.rules import Rule, Suite
from expectations.runner import validate
report = validate(Suite("t", (Rule("a is present", gxe.ExpectColumnValuesToNotBeNull(column="a")),),
                  {"table": pl.DataFrame({"a": [1, None]})}))
assert not report.passed
print("events:", events)
print("analytics:", os.environ.get("GX_ANALYTICS_ENABLED"))
"""


def test_gx_makes_no_connections_and_writes_nothing_in_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GX_")}
    env["HOME"] = str(home)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, env=env, check=True
    ).stdout
    assert "events: []" in out
    # no environment variable set on import: GX 1.x reads none, its context's
    # configuration turns analytics off
    assert "analytics: None" in out
    assert list(home.iterdir()) == []
