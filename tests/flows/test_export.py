"""The Parquet export: every core, signal and result table, readable by any client
(DuckDB's own CLI from the package index, Polars, pandas) while a flow holds the live
warehouse file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from cli.main import main
from tests.conftest import copy_data, holding, query
from warehouse.db import export_path

DUCKDB_CLI = str(Path(sys.executable).with_name("duckdb"))


def test_every_table_is_exported_and_readable_while_the_warehouse_is_held(
    shared_data: Path, tmp_path: Path
) -> None:
    folder = copy_data(tmp_path, shared_data, "vix_daily.csv", "fomc_meetings.csv")
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "--source", f"dir:{folder}", "--db", str(db)]) == 0
    export = export_path(db)
    tables = query(
        db,
        "SELECT schema_name || '.' || table_name AS t FROM duckdb_tables() "
        "WHERE schema_name IN ('core', 'signals', 'results') ORDER BY 1",
    )["t"].to_list()
    assert sorted(p.name for p in export.glob("*.parquet")) == [f"{t}.parquet" for t in tables]
    assert not list(export.glob(".*"))
    vix = export / "core.vix_daily.parquet"
    with holding(db):  # a flow writing the live file blocks no reader of the export
        exported = pl.read_parquet(vix)
        assert exported.equals(query(db.with_name("w.snapshot.duckdb"), "FROM core.vix_daily"))
        assert len(pd.read_parquet(vix)) == exported.height == 9235
        cli = subprocess.run(
            [DUCKDB_CLI, "-csv", "-c", f"SELECT count(*) AS n, max(date) AS last FROM '{vix}'"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert cli.stdout.splitlines() == ["n,last", "9235,2026-07-23"]


def test_run_ids_change_with_any_file_that_can_change_a_result(tmp_path: Path) -> None:
    import shutil

    from flows.settings import REPO, RESULT_CODE, code_version

    root = tmp_path / "tree"
    for folder in RESULT_CODE:
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", root)
    (root / "README.md").write_text("docs")
    seen = {code_version(root)}
    for edit in ("flows/ingest.py", "warehouse/sql/query/vx_futures.sql", "pyproject.toml"):
        with (root / edit).open("a") as fh:
            fh.write("\n")
        code_version.cache_clear()
        seen.add(code_version(root))
    (root / "README.md").write_text("other docs")  # not code: no new version
    code_version.cache_clear()
    seen.add(code_version(root))
    assert len(seen) == 4


def test_run_ids_change_with_an_installed_numerical_dependency(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from importlib import metadata

    from flows import settings

    (tmp_path / "pyproject.toml").write_text("")
    settings.code_version.cache_clear()
    before = settings.code_version(tmp_path)
    installed = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "0.0" if name == "numba" else installed(name)
    )
    settings.code_version.cache_clear()
    after = settings.code_version(tmp_path)
    assert "numba==0.0" in settings.dependency_versions().splitlines()
    monkeypatch.undo()
    settings.code_version.cache_clear()
    assert after != before
    assert settings.code_version(tmp_path) == before
