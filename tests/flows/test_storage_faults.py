"""Storage faults, produced for real (these tests need root, as CI and the developer
machines have): an immutable warehouse file, a read-only mount, a full disk, and a
download cache that cannot be written while the warehouse can."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from cli.main import EXIT_FAILED, main
from tests.conftest import copy_data, table_fingerprints


def _root(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        pytest.fail(f"{' '.join(command)} failed (these tests need root): {result.stderr}")


@contextmanager
def _mounted(folder: Path, *options: str, source: str | None = None) -> Iterator[Path]:
    """``folder`` with a file system mounted on it (itself, read-only, by default)."""
    folder.mkdir(parents=True, exist_ok=True)
    _root("mount", *(options or ("--bind", "-o", "ro")), source or str(folder), str(folder))
    try:
        yield folder
    finally:
        _root("umount", str(folder))


def _ingest(folder: Path, db: Path) -> int:
    return main(["ingest", "--source", f"dir:{folder}", "--db", str(db)])


def _one_error(err: str) -> str:
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    return line


@pytest.fixture
def loaded(shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A folder with the VIX history and a warehouse that holds it."""
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv")
    db = tmp_path / "wh" / "alvh.duckdb"
    assert _ingest(folder, db) == 0
    with (folder / "vix_daily.csv").open("a") as fh:  # a new day to write
        fh.write("2026-07-24,16.00,17.50,15.90,17.10\n")
    return folder, db


def test_an_immutable_warehouse_file_is_one_line_and_changes_nothing(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, db = loaded
    before = table_fingerprints(db)
    capsys.readouterr()
    _root("chattr", "+i", str(db))
    try:
        assert _ingest(folder, db) == EXIT_FAILED
    finally:
        _root("chattr", "-i", str(db))
    assert _one_error(capsys.readouterr().err) == (
        f"error: cannot write {db}: Operation not permitted"
    )
    assert table_fingerprints(db) == before
    assert not [p for p in db.parent.rglob("*") if p.name.endswith(".tmp")]


def test_a_read_only_mount_is_one_line_and_changes_nothing(
    loaded: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, db = loaded
    before = table_fingerprints(db)
    capsys.readouterr()
    with _mounted(db.parent):
        assert _ingest(folder, db) == EXIT_FAILED
    line = _one_error(capsys.readouterr().err)
    assert line.startswith(f"error: cannot write {db}") and "Read-only file system" in line
    assert table_fingerprints(db) == before


def test_a_full_disk_stops_the_run_naming_the_file_and_leaves_no_temporary_file(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=3m", source="tmpfs") as small:
        db = small / "alvh.duckdb"
        assert _ingest(shared_data, db) == EXIT_FAILED
        line = _one_error(capsys.readouterr().err)
        assert line.startswith(f"error: cannot write {db}") and "No space left on device" in line
        assert not [p for p in small.iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_download_cache_is_a_recorded_failure(
    shared_data: Path, tmp_path: Path, sql: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.ingest import IngestFailed, IngestParams, ingest_flow
    from tests.flows.test_live import VendorServer

    srv = VendorServer(shared_data / "vendor")
    for name in ("ALVH_CBOE_URL", "ALVH_FRED_URL", "ALVH_FRED_API_URL", "ALVH_FED_URL"):
        monkeypatch.setenv(name, srv.url)
    db = tmp_path / "w.duckdb"
    try:
        with _mounted(tmp_path / "cache") as cache:
            monkeypatch.setenv("ALVH_CACHE", str(cache))
            with pytest.raises(IngestFailed, match="Read-only file system"):
                ingest_flow(IngestParams(source="live", db=db, as_of=date(2026, 8, 1)))
    finally:
        srv.close()
    runs = sql(db, "SELECT series, status, error FROM ingest_runs WHERE status = 'failed'")  # type: ignore[operator]
    assert "vix_daily" in runs["series"].to_list()
    assert all("Read-only file system" in e for e in runs["error"])


def test_a_report_on_a_full_disk_names_the_page_and_leaves_no_temporary_file(
    loaded: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, db = loaded
    with _mounted(tmp_path / "small", "-t", "tmpfs", "-o", "size=1m", source="tmpfs") as small:
        assert main(["report", "--db", str(db), "--out", str(small)]) == EXIT_FAILED
        line = _one_error(capsys.readouterr().err)
        assert line.startswith(f"error: cannot write {small}/") and "No space left" in line
        assert [p.name for p in small.iterdir()] == []
