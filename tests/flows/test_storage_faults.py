"""Storage faults, produced for real (these tests need root, as CI and the developer
machines have): an immutable warehouse file, a read-only mount, a full disk, and a
download cache that cannot be written while the warehouse can."""

from __future__ import annotations

import errno
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from cli.main import EXIT_FAILED, main
from tests.conftest import copy_data, table_fingerprints
from warehouse.db import snapshot_path


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


def test_a_fault_after_the_commit_says_what_is_stored_and_what_is_not(
    loaded: tuple[Path, Path],
    sql: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The disk fills up after the new VIX day is committed, while the snapshot is copied:
    the error says the day is stored and the snapshot is not, and the next run publishes
    it without loading anything again."""
    folder, db = loaded

    def full(source: str, target: str, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(shutil, "copyfile", full)
        assert _ingest(folder, db) == EXIT_FAILED
    err = capsys.readouterr().err
    line = _one_error(err)
    assert "No space left on device" in line
    assert f"the warehouse {db} itself is committed and intact" in line
    assert (
        "  committed before this failure: core.vix_daily; not done: the snapshot and Parquet "
        "export (the next write publishes them)"
    ) in err.splitlines()
    last = "SELECT max(date) AS d FROM core.vix_daily"
    assert str(sql(db, last)["d"][0]) == "2026-07-24"  # type: ignore[operator]
    assert str(sql(snapshot_path(db), last)["d"][0]) < "2026-07-24"  # type: ignore[operator]
    assert _ingest(folder, db) == 0
    assert "vix_daily: inputs unchanged since run" in capsys.readouterr().out
    assert str(sql(snapshot_path(db), last)["d"][0]) == "2026-07-24"  # type: ignore[operator]
