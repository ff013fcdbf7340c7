"""Shared fixtures. Prefect gets an isolated home before anything imports it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Under xdist each worker keeps its temporary files (and its children's) in a folder
    # of its own, so the session check below sees only its own leftovers.
    tempfile.tempdir = tempfile.mkdtemp(prefix=f"pytest-{os.environ['PYTEST_XDIST_WORKER']}-")
    os.environ["TMPDIR"] = tempfile.tempdir
_PREFECT_HOME = tempfile.mkdtemp(prefix="alvh-prefect-")
_SESSION = os.path.basename(_PREFECT_HOME)  # marks every process this session starts
os.environ["ALVH_TEST_SESSION"] = _SESSION
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = (
    f"sqlite+aiosqlite:///{_PREFECT_HOME}/prefect.db"
)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ.pop("ALVH_DB", None)
os.environ.pop("ALVH_SOURCE", None)
os.environ.pop("FRED_API_KEY", None)
# No test reaches a publisher: one that forgets its local server gets a refused connection.
for _publisher in ("ALVH_CBOE_URL", "ALVH_FRED_URL", "ALVH_FRED_API_URL", "ALVH_FED_URL"):
    os.environ[_publisher] = "http://127.0.0.1:9"

from flows import settings  # noqa: E402

settings.configure()  # as the command line does where it starts

import duckdb  # noqa: E402
import polars as pl  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


FIRST = ("tests/test_readme.py",)
"""Modules to start first: the longest (the README's real-history run and sweep, about
six minutes). xdist hands out modules in collection order (--dist loadscope), so a long
one collected last leaves one worker busy and the other idle at the end."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in FIRST)  # stable


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """Fails the session if a test leaves a process it started (however deep, orphans
    included: they carry this session's ALVH_TEST_SESSION) or a temporary folder of
    alvh's behind; this session's Prefect home and ephemeral API go with it."""
    import gc

    import psutil

    tmp = Path(tempfile.gettempdir())
    before = {p for p in tmp.iterdir() if p.name.startswith("alvh-")}
    yield
    gc.collect()  # sweeps' scratch folders go when nothing refers to them
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer

    from flows import ephemeral

    APILogWorker.drain_all(timeout=5)  # the run logs still queued for it, first
    SubprocessASGIServer().stop()  # this process's ephemeral API, as at exit
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)
    ours = []
    for process in psutil.process_iter():
        try:
            if (
                process.pid != os.getpid()
                and process.environ().get("ALVH_TEST_SESSION") == _SESSION
                # multiprocessing's resource tracker (a local Dask cluster's) is this
                # process's own helper: it ends when this process does, by design
                and "multiprocessing.resource_tracker" not in " ".join(process.cmdline())
            ):
                ours.append((process, " ".join(process.cmdline())[:200]))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    # a command's Prefect server finishes its shutdown after the command has ended (well
    # within its graceful-shutdown timeout): what still runs after that is left behind
    _, alive = psutil.wait_procs([p for p, _ in ours], timeout=ephemeral.GRACEFUL_SHUTDOWN + 5)
    left = [f"{p.pid} {cmdline}" for p, cmdline in ours if p in alive]
    for process in alive:
        with suppress(psutil.NoSuchProcess):
            process.kill()
    folders = sorted(
        str(p)
        for p in tmp.iterdir()
        # another test session's Prefect home (one running beside this one) is its own
        if p.name.startswith("alvh-") and not p.name.startswith("alvh-prefect-") and p not in before
    )
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shutil.rmtree(tmp, ignore_errors=True)  # this worker's own temporary folder
    assert not left, f"processes left running by the tests: {left}"
    assert not folders, f"temporary folders left by the tests: {folders}"


def shared_data_path() -> Path:
    return Path(os.environ.get("ALVH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real market data folder. Missing data fails the test: it never skips."""
    path = shared_data_path()
    if not (path / "README.md").is_file():
        pytest.fail(f"real market data not found at {path} (set ALVH_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def option_quotes(shared_data: Path) -> Path:
    """The SPX option quote samples beside the market data. Missing fails the test."""
    path = Path(os.environ.get("ALVH_OPTION_QUOTES") or shared_data.parent / "option-quotes")
    if not (path / "README.md").is_file():
        pytest.fail(f"SPX option quote samples not found at {path} (set ALVH_OPTION_QUOTES)")
    return path


@pytest.fixture(scope="session")
def holidays() -> frozenset[date]:
    """NYSE weekday holidays 1990-2027 from the exchange calendar."""
    from flows.sources import trading_calendar

    cal = trading_calendar(date(1990, 1, 1), date(2027, 12, 31))
    return frozenset(cal.filter(~pl.col("nyse_open"))["date"].to_list())


@pytest.fixture(scope="session")
def real_warehouse(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding a full ingest of the real data folder (built once)."""
    from flows.ingest import IngestParams, ingest_flow

    db = tmp_path_factory.mktemp("real") / "alvh.duckdb"
    ingest_flow(IngestParams(source=f"dir:{shared_data}", db=db, as_of=date(2026, 11, 1)))
    return db


def query(db: Path, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    """Run a query against a warehouse file opened read-only, into Polars."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        frame = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    finally:
        con.close()
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture
def sql() -> object:
    """The :func:`query` helper, for tests."""
    return query


def copy_data(tmp_path: Path, shared_data: Path, *names: str) -> Path:
    """A fresh input folder holding copies of some files of the real data folder."""
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(shared_data / name, folder / name)
    return folder


def table_fingerprints(db: Path) -> dict[str, tuple[int, str]]:
    """(row count, content hash) of every data table (not run metadata) in a warehouse."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.sql(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE table_name NOT IN ('ingest_runs', 'ingest_fingerprints', 'schema_version', 'validation_runs', 'validation_results') ORDER BY 1"
        ).fetchall()
        out = {}
        for (name,) in tables:
            count, digest = con.sql(
                f"SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {name} AS t"
            ).fetchall()[0]
            out[name] = (int(count), str(digest))
        return out
    finally:
        con.close()


@pytest.fixture(scope="session")
def research_warehouse(real_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real warehouse with its signal tables (what backtests read), built once."""
    from flows.signals import SignalsParams, signals_flow

    db = tmp_path_factory.mktemp("research") / "alvh.duckdb"
    shutil.copy(real_warehouse, db)
    signals_flow(SignalsParams(db=db))
    return db


@pytest.fixture(scope="session")
def backtest_inputs(research_warehouse: Path) -> object:
    """transforms.backtest.run.Inputs read from the research warehouse."""
    from flows.backtest import read_inputs

    return read_inputs(research_warehouse)


@contextmanager
def holding(db: Path, *, read_only: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holding ``db`` open (as a writer, or as a reader) meanwhile."""
    code = (
        f"import duckdb,time; c=duckdb.connect({str(db)!r}, read_only={read_only}); "
        "print('ok', flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
            yield holder
        finally:
            holder.kill()


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process with its own Prefect home (no PREFECT_* of ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {
        **env,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "COLUMNS": "200",  # tables wide enough to show whole names
        **extra,
    }


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """A real `prefect server start` on a free local port; yields its API URL."""
    import socket
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    api = f"http://127.0.0.1:{port}/api"
    log = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    prefect = str(Path(sys.executable).with_name("prefect"))
    with log.open("w") as out:
        server = subprocess.Popen(
            [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=prefect_env(home),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert server.poll() is None, log.read_text()
        yield api
    finally:
        stop(server)


def stop(process: subprocess.Popen[Any]) -> None:
    """Terminate a child process; kill it if it has not ended after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
