"""The Parquet export: every core, signal and result table, readable by any client
(DuckDB's own CLI from the package index, Polars, pandas) while a flow holds the live
warehouse file."""

from __future__ import annotations

import os
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


KERNEL = """
import numba
from transforms.b import f

@numba.njit(cache=True)
def kernel():
    return f()

print(kernel())
"""


def test_numba_cache_follows_the_source_of_an_inlined_function(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """numba checks only a cached function's own file: a kernel that inlines a function of
    another module must not load its old machine code after that module changed."""
    from flows.settings import numba_cache

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "tree"
    (root / "transforms").mkdir(parents=True)
    (root / "transforms" / "__init__.py").write_text("")
    (root / "transforms" / "a.py").write_text(KERNEL)
    printed, folders = [], []
    for value in (1, 2, 1):
        (root / "transforms" / "b.py").write_text(
            f"import numba\n\n@numba.njit(cache=True, inline='always')\ndef f():\n    return {value}\n"
        )
        folders.append(numba_cache(root))
        done = subprocess.run(
            [sys.executable, "-c", "import transforms.a"],
            env={**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(folders[-1])},
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        )
        printed.append(done.stdout.strip())
    assert printed == ["1", "2", "1"]
    assert folders[0] == folders[2] != folders[1]
    assert folders[0].parent == tmp_path / "cache" / "alvh" / "numba"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(folders[2]))  # inherited by a child process
    assert numba_cache(root) == folders[2]
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))  # the user's choice
    assert numba_cache(root) == tmp_path / "mine" / folders[2].name


def test_a_new_numba_cache_folder_keeps_the_most_recently_used_others(tmp_path: Path) -> None:
    from flows.settings import NUMBA_CACHES_KEPT, _used

    names = [f"{k:016x}" for k in range(12)]
    for k, name in enumerate(names):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_000_000 + k, 1_000_000 + k))  # the last, the newest
    (tmp_path / "notes").mkdir()  # not a cache folder: left alone
    _used(tmp_path / names[0])  # an old one used again: nothing removed
    assert len(list(tmp_path.iterdir())) == 13
    _used(tmp_path / "ffffffffffffffff")  # a new version of the code
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted(
        [names[0], *names[-(NUMBA_CACHES_KEPT - 2) :], "ffffffffffffffff", "notes"]
    )
