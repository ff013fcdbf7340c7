"""The DuckDB file: connections, schema migrations, named SQL.

Every statement lives in ``warehouse/sql/<folder>/<name>.sql`` and is run by name with
bound parameters. Writers migrate on connect (numbered, idempotent schema files; the
highest applied number is the schema version). DuckDB allows one writing process per
file and no reader beside it: :func:`connect_reader` waits briefly and then raises
:class:`WarehouseBusy` naming the process that holds the lock.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from transforms.backtest.metric_registry import METRIC_TABLES, REGISTRY
from warehouse.lockwait import WRITER_WAIT, LockWait

SQL_DIR = Path(__file__).parent / "sql"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file open (DuckDB lets a writer beside no
    other process, and a reader beside no writer)."""

    def __init__(self, path: Path, holder: str, *, waited: float = 0.0) -> None:
        super().__init__(
            f"the warehouse {path} is busy: {holder} has it open "
            f"(waited {waited:.0f} s). Try again when it finishes, or query the last "
            f"published snapshot {snapshot_path(path)}."
        )
        self.path = path
        self.holder = holder


_FILE_FAULT = re.compile(
    r"(?:Could not write file|Cannot open file|Could not read file|Could not truncate file)"
    r' "(?P<file>[^"]+)": (?P<cause>[^\n]+)'
)
_FAULT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EPERM, errno.EACCES, errno.EDQUOT, errno.EFBIG}
)


class StorageFault(RuntimeError):
    """The file system refused the warehouse a write: a full disk, a read-only mount,
    an immutable file, missing permissions."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(f"cannot write {path}: {cause}")
        self.path = path
        self.cause = cause


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The StorageFault ``exc`` stands for, if it is one."""
    if isinstance(exc, StorageFault):
        return exc
    if isinstance(exc, OSError) and exc.errno in _FAULT_ERRNOS:
        return StorageFault(str(exc.filename or "?"), exc.strerror or str(exc))
    if isinstance(exc, duckdb.Error) and (m := _FILE_FAULT.search(str(exc))):
        return StorageFault(m["file"], m["cause"].strip())
    return None


@dataclass
class Holds:
    """How long this process held the warehouse's write lock: every :func:`writer` block
    from its open to its close (what other processes wait for)."""

    count: int = 0
    longest: float = 0.0
    total: float = 0.0

    def reset(self) -> None:
        self.count, self.longest, self.total = 0, 0.0, 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.longest = max(self.longest, seconds)
        self.total += seconds


WRITER_HOLDS = Holds()


@cache
def sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>.sql`` (``name`` like ``load/raw_rows``)."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no SQL file {path}")
    return path.read_text()


def run(
    con: duckdb.DuckDBPyConnection, name: str, params: Mapping[str, Any] | None = None
) -> duckdb.DuckDBPyConnection:
    """Execute a named statement with bound parameters."""
    return con.execute(sql(name), dict(params) if params else None)


def schema_files() -> list[tuple[int, Path]]:
    files = []
    for path in sorted((SQL_DIR / "schema").glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        files.append((number, path))
    return files


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply schema files newer than the recorded version; return the version."""
    con.execute(sql("schema/001_operations"))
    (current,) = run(con, "query/schema_version").fetchall()[0]
    for number, path in schema_files():
        if number <= current:
            continue
        with transaction(con):
            con.execute(path.read_text())
            run(con, "load/schema_version", {"version": number, "name": path.name})
        current = number
    return int(current)


class SchemaMismatch(RuntimeError):
    """A result table's metric columns differ from the metric registry."""


def check_metric_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`SchemaMismatch`, naming the table, the column and both types, unless
    every metric of the registry (:mod:`transforms.backtest.metric_registry`) is a column
    of each result table that holds metrics, with the registry's SQL type."""
    stored = {
        (table, column): kind
        for table, column, kind in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'results' AND table_name IN (SELECT unnest($tables))",
            {"tables": list(METRIC_TABLES)},
        ).fetchall()
    }
    for table in METRIC_TABLES:
        for name, metric in REGISTRY.items():
            kind = stored.get((table, name))
            if kind != metric.sql_type:
                raise SchemaMismatch(
                    f"results.{table}.{name}: the metric registry says {metric.sql_type}, "
                    f"the warehouse has {kind or 'no such column'} (a migration under "
                    "warehouse/sql/schema must add or change it)"
                )


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    return int(run(con, "query/schema_version").fetchall()[0][0])


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(run(con, "query/table_exists", {"schema": schema, "table": table}).fetchall()[0][0])


class SchemaOutdated(RuntimeError):
    """A reader opened a warehouse an older alvh wrote (readers never migrate)."""


def require_current_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise SchemaOutdated, naming the versions and the remedy, unless ``con``'s
    warehouse has every schema file this code knows."""
    have, want = schema_version(con), max(n for n, _ in schema_files())
    if have < want:
        raise SchemaOutdated(
            f"{path} is at schema version {have}, this alvh reads version {want}: any command "
            "that writes it (alvh signals, alvh ingest, alvh run) migrates it first"
        )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception (which propagates)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _holder(exc: duckdb.Error) -> str | None:
    m = _LOCK_HOLDER.search(str(exc))
    if not m:
        return None
    pid = m["pid"]
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        cmdline = m["exe"]
    return f"process {pid} ({cmdline or m['exe']})"


SANDBOX: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,  # no file, URL, ATTACH, COPY, INSTALL or LOAD
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "temp_directory": "",  # no spilling: nothing written anywhere, even under EXPLAIN
    "lock_configuration": True,  # no SET can undo the above
}
"""DuckDB's own controls for untrusted SQL: the connection reads its database file and
nothing else on the machine, and writes nothing (a memory limit is added per caller)."""


def _open(
    path: Path,
    *,
    read_only: bool,
    wait_seconds: float,
    config: dict[str, str | bool | int | float | list[str]] | None = None,
    policy: LockWait | None = None,
) -> duckdb.DuckDBPyConnection:
    started = time.monotonic()
    next_note = started + (policy.every if policy else 0.0)
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except duckdb.IOException as exc:
            holder = _holder(exc)
            if holder is None:
                fault = storage_fault(exc)
                if fault is None:
                    raise
                raise fault from exc
            now = time.monotonic()
            if now - started >= wait_seconds:
                raise WarehouseBusy(path, holder, waited=now - started) from None
            if policy is not None and now >= next_note:
                policy.notify(
                    f"waiting for the warehouse {path}: {holder} has it open "
                    f"({now - started:.0f} s of {wait_seconds:.0f} s)"
                )
                next_note += policy.every
            time.sleep(0.2)


def connect_writer(path: Path, *, policy: LockWait | None = None) -> duckdb.DuckDBPyConnection:
    """A read-write connection to a migrated warehouse (created if absent); waits for
    other processes as :data:`WRITER_WAIT` (or ``policy``) says, then raises
    :class:`WarehouseBusy`."""
    policy = policy or WRITER_WAIT
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _open(path, read_only=False, wait_seconds=policy.seconds, policy=policy)
    try:
        migrate(con)
        check_metric_columns(con)
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def writer(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer connection held only for the ``with`` block; a refused write raises
    :class:`StorageFault` naming the file and the cause."""
    con = connect_writer(path)
    opened = time.perf_counter()
    try:
        yield con
    except (OSError, duckdb.Error) as exc:
        fault = storage_fault(exc)
        if fault is None:
            raise
        raise fault from exc
    finally:
        con.close()
        WRITER_HOLDS.add(time.perf_counter() - opened)


def connect_reader(
    path: Path,
    *,
    wait_seconds: float = 3.0,
    sandboxed: bool = False,
    memory_limit: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """A read-only connection; waits up to ``wait_seconds`` for a writer to finish.
    ``sandboxed``: for SQL typed by a user (:data:`SANDBOX`); ``memory_limit``: DuckDB's
    (``4GB``), fixed for the connection's life when sandboxed."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no warehouse at {path}: run `alvh ingest` (or `alvh run`) first, "
            "or point --db / ALVH_DB at an existing file"
        )
    config = dict(SANDBOX) if sandboxed else {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    return _open(path, read_only=True, wait_seconds=wait_seconds, config=config)


def snapshot_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.snapshot{path.suffix}")


def export_path(path: Path) -> Path:
    """The folder of ``path``'s Parquet export (``data/export/<warehouse name>/``)."""
    return path.parent / "export" / path.stem


FINGERPRINTS = "fingerprints.json"
"""In an export folder: each exported table's columns, rows and row hashes when its
file was written (a table that still matches is not written again)."""


def _fingerprints(folder: Path) -> dict[str, list[object]]:
    try:
        known = json.loads((folder / FINGERPRINTS).read_text())
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: every table is written
    return known if isinstance(known, dict) else {}


class WarehouseUnreadable(RuntimeError):
    """The warehouse file cannot be opened or read whole: nothing is published from it."""


def publish_snapshot(path: Path) -> Path:
    """Publish the (closed) warehouse for readers that never touch, or wait for, the live
    file: its snapshot file and a Parquet export of its core, signal and result tables
    (``schema.table.parquet`` under :func:`export_path`). Returns the snapshot's path.

    Only a good state is published: the copy is opened and every exported table read
    whole (into its Parquet file) before anything is replaced (the snapshot, then each
    file, atomically). A table is written only when it changed since its file was
    (:data:`FINGERPRINTS` in the export folder records each file's columns, rows and
    row hashes). A copy that cannot be opened or read raises WarehouseUnreadable naming
    the last good snapshot, which is kept. Call only when no connection to ``path`` is
    open in this process.
    """
    target = snapshot_path(path)
    folder = export_path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    parts: dict[Path, Path] = {}
    known = _fingerprints(folder)
    current: dict[str, list[object]] = {}
    try:
        shutil.copyfile(path, tmp)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(tmp), read_only=True)
            try:
                for schema, table in run(con, "query/exported_tables").fetchall():
                    name = f"{schema}.{table}"
                    found = run(
                        con,
                        "query/table_fingerprint",
                        {"schema": schema, "table": table, "name": name},
                    ).fetchall()
                    current[name] = list(found[0])
                    final = folder / f"{name}.parquet"
                    if known.get(name) == current[name] and final.is_file():
                        continue  # unchanged since its file was written
                    part = folder / f".{name}.parquet.{os.getpid()}.tmp"
                    parts[part] = final
                    con.table(name).write_parquet(str(part))
            finally:
                con.close()
        except duckdb.Error as exc:
            kept = (
                f"the last good snapshot {target} is kept: to restore it, replace {path} with it"
                if target.exists()
                else "there is no earlier snapshot"
            )
            raise WarehouseUnreadable(
                f"{path} cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]}): "
                f"nothing was published from it; {kept}"
            ) from exc
        tmp.replace(target)
        for part, final in parts.items():
            part.replace(final)
        record = folder / f".{FINGERPRINTS}.{os.getpid()}.tmp"
        record.write_text(json.dumps(current, sort_keys=True))
        record.replace(folder / FINGERPRINTS)
    except OSError as exc:
        raise StorageFault(
            str(exc.filename or target),
            f"{exc.strerror or exc} (the warehouse {path} itself is committed and intact: "
            "only its snapshot and export were not refreshed)",
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
        for part in parts:
            part.unlink(missing_ok=True)
    return target
