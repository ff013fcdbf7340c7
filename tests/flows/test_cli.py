from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import EXIT_BUSY, EXIT_FAILED, EXIT_USAGE, SYNTHETIC_NOTICE, main
from tests.conftest import REPO


def _sql(db: Path, query: str, fmt: str = "table") -> int:
    return main(["sql", "--db", str(db), "--format", fmt, query])


def test_help_lists_the_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flows.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    for command in ("run", "ingest", "validate", "sql"):
        assert f"    {command}" in out


def test_run_without_a_source_uses_the_synthetic_market_and_says_so_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    assert main(["run", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == SYNTHETIC_NOTICE
    assert "from synthetic:seed=4" in out
    assert "vx_term_structure:" in out
    assert "signals.signals_daily:" in out
    assert _sql(db, "SELECT count(*) AS n FROM core.vx_constant_maturity", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["n"] > 5000
    # Same seed, same market: a second run recognises every input as unchanged.
    assert main(["run", "--db", str(db)]) == 0
    latest = "SELECT DISTINCT status FROM ingest_runs WHERE run_id = (SELECT max(run_id) FROM ingest_runs)"
    assert _sql(db, latest, "csv") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "unchanged"


def test_sql_formats_and_refusals(real_warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(real_warehouse)
    assert (
        main(
            [
                "sql",
                "--db",
                db,
                "--format",
                "csv",
                "SELECT date, close FROM core.spx_daily WHERE date = '2020-03-23'",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == "date,close\n2020-03-23,2237.4\n"
    assert main(["sql", "--db", db, "DESCRIBE core.vix_daily"]) == 0
    assert "close" in capsys.readouterr().out
    for statement in (
        "DELETE FROM core.spx_daily",
        "CREATE TABLE x (a INT)",
        "SELECT 1; DROP TABLE core.spx_daily",
        "COPY core.spx_daily TO 'x.csv'",
        "ATTACH 'other.duckdb'",
    ):
        assert main(["sql", "--db", db, statement]) == EXIT_FAILED
        assert "alvh sql is read-only" in capsys.readouterr().err
    assert main(["sql", "--db", db, "SELECT * FROM nope"]) == EXIT_FAILED
    assert "Table with name nope does not exist" in capsys.readouterr().err
    assert main(["sql", "--db", str(Path(db).parent / "missing.duckdb"), "SELECT 1"]) == EXIT_FAILED
    assert "run `alvh ingest`" in capsys.readouterr().err


def test_sql_while_a_flow_writes_says_busy_and_by_what(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    code = f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
            assert main(["sql", "--db", str(db), "--wait", "0.3", "SELECT 1"]) == EXIT_BUSY
        finally:
            holder.kill()
    err = capsys.readouterr().err
    assert f"is busy: process {holder.pid}" in err and "snapshot" in err
    assert "Traceback" not in err


def test_snapshot_is_published_for_lock_free_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--source", "synthetic:3", "--db", str(db)]) == 0
    capsys.readouterr()
    assert (
        main(
            [
                "sql",
                "--db",
                str(db),
                "--snapshot",
                "--format",
                "csv",
                "SELECT count(*) AS n FROM core.spx_daily",
            ]
        )
        == 0
    )
    assert int(capsys.readouterr().out.splitlines()[1]) > 5000


def test_unknown_source_and_missing_folder_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "w.duckdb")
    assert main(["ingest", "--source", "ftp://x", "--db", db]) == EXIT_USAGE
    assert "unknown source 'ftp://x'" in capsys.readouterr().err
    assert main(["ingest", "--source", f"dir:{tmp_path / 'nope'}", "--db", db]) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err


def test_commands_on_a_missing_warehouse_say_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none.duckdb")
    for command in ("signals", "validate"):
        assert main([command, "--db", missing]) == EXIT_FAILED
        assert f"no warehouse at {missing}: run `alvh ingest` first" in capsys.readouterr().err
    assert not Path(missing).exists()
