"""Where things live, from flags, environment variables and defaults (flows only).

| setting | flag | environment | default |
| --- | --- | --- | --- |
| warehouse | ``--db`` | ``ALVH_DB`` | ``data/alvh.duckdb``, synthetic: ``data/synthetic.duckdb`` |
| source | ``--source`` | ``ALVH_SOURCE`` | synthetic market |
| shared data folder | | ``ALVH_SHARED_DATA`` | ``../shared/data`` |
| SPX option quotes | ``--quotes`` | ``ALVH_OPTION_QUOTES`` | ``../shared/option-quotes`` |
| download cache | | ``ALVH_CACHE`` | ``./data/cache`` |
| Cboe base URL | | ``ALVH_CBOE_URL`` | ``https://cdn.cboe.com`` |
| FRED base URL | | ``ALVH_FRED_URL`` | ``https://fred.stlouisfed.org`` |
| FRED API base URL | | ``ALVH_FRED_API_URL`` | ``https://api.stlouisfed.org`` |
| FRED API key | | ``FRED_API_KEY`` | none (graph CSVs; no CPI/PPI release dates) |
| Federal Reserve base URL | | ``ALVH_FED_URL`` | ``https://www.federalreserve.gov`` |
| download retries | | ``ALVH_HTTP_RETRIES`` | 3 (after the first attempt) |
| first retry delay, s | | ``ALVH_HTTP_BACKOFF`` | 1.0 (doubling each retry) |
| total deadline of one download attempt, s | | ``ALVH_HTTP_DEADLINE`` | 120 |
| seconds a writer waits for the warehouse file | | ``ALVH_LOCK_WAIT`` | 60 |
| quarantined share that fails a file | | ``ALVH_MAX_QUARANTINE_SHARE`` | 0.05 |
| largest input file, MB (as stored and decompressed) | | ``ALVH_MAX_INPUT_MB`` | 256 |
| tracebacks on errors | ``--debug`` | ``ALVH_DEBUG`` (0/1, true/false) | off |
| ``alvh sql``'s memory limit | | ``ALVH_SQL_MEMORY`` | 4GB |
| ``alvh sql``'s time limit per statement, s | | ``ALVH_SQL_TIMEOUT`` | 300 |
| Dask scheduler for a sweep's chunks | ``--cluster`` | ``ALVH_DASK_CLUSTER`` | none: in process |
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

from transforms.limits import INPUT_LIMITS, LIMIT_SETTING
from warehouse.lockwait import WRITER_WAIT

EXCHANGE_TZ = ZoneInfo("America/New_York")  # the NYSE's sessions and schedules
DEFAULT_DB = Path("data") / "alvh.duckdb"
SYNTHETIC_DB = Path("data") / "synthetic.duckdb"  # never shared with real data
REPO = Path(__file__).resolve().parents[1]


RESULT_CODE = ("transforms", "flows", "warehouse", "expectations")
"""The folders whose Python and SQL files can change a stored result."""
NUMERICAL = ("numpy", "numba", "llvmlite", "scipy", "polars", "duckdb", "pyarrow",
             "statsmodels", "exchange-calendars", "great-expectations")  # fmt: skip
"""Installed distributions whose versions can change a stored number (the resolved
versions, not the ranges ``pyproject.toml`` allows)."""


def dependency_versions() -> str:
    """``name==version`` of each :data:`NUMERICAL` distribution as installed, one a line."""
    lines = []
    for name in NUMERICAL:
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} not installed")
    return "\n".join(lines)


@cache
def code_version(root: Path = REPO) -> str:
    """Content hash (names and bytes) of every file that can change a result: the Python
    modules and SQL files under :data:`RESULT_CODE`, ``pyproject.toml`` (the dependency
    ranges) and the installed versions of the numerical dependencies
    (:func:`dependency_versions`). Ingest fingerprints and run and sweep ids depend on it."""
    files = [root / "pyproject.toml"]
    for folder in RESULT_CODE:
        files += sorted(p for p in (root / folder).rglob("*") if p.suffix in (".py", ".sql"))
    return _content_hash(root, files, seed=dependency_versions())


def _content_hash(root: Path, files: list[Path], *, seed: str = "") -> str:
    """16 hex digits of the SHA-256 of ``seed`` and each file's name (under ``root``) and
    bytes, in the order given (files that do not exist are left out)."""
    digest = hashlib.sha256(seed.encode())
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def numba_cache(root: Path = REPO) -> Path:
    """numba's cache for this source of the compiled code: a folder named by the content
    hash of ``transforms/`` under ``NUMBA_CACHE_DIR`` (else ``$XDG_CACHE_HOME/alvh/numba``).
    numba checks only a cached function's own file, so a kernel cached before a change to
    a function it inlines from another module would load stale machine code."""
    name = _content_hash(root, sorted((root / "transforms").rglob("*.py")))
    given = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if given:
        base = Path(given)
        return base if base.name == name else base / name  # a child process inherits it
    home = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(home) / "alvh" / "numba" / name


NUMBA_CACHES_KEPT = 8
"""How many of :func:`numba_cache`'s folders (one per version of ``transforms/``) stay."""


def _used(folder: Path) -> Path:
    """``folder``, created and marked as used now; a new one removes the least recently
    used of its siblings beyond :data:`NUMBA_CACHES_KEPT` (each holds about 1 MB)."""
    try:
        new = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        if new:
            others = [
                p for p in folder.parent.iterdir()
                if p != folder and p.is_dir() and re.fullmatch(r"[0-9a-f]{16}", p.name)
            ]  # fmt: skip
            others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            for old in others[NUMBA_CACHES_KEPT - 1 :]:
                shutil.rmtree(old, ignore_errors=True)
    except OSError:  # unwritable: numba falls back to its own folders
        pass
    return folder


def _setdefault_prefect_env() -> None:
    """Prefect settings that must be in place before prefect is imported."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # Prefect's own chatter
    # the runs' own logs (flows.runlog.say, task and flow states) reach the API at INFO
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "INFO")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def db_path(flag: str | None = None, *, source: str | None = None) -> Path:
    """The warehouse: ``--db``, else ``ALVH_DB``, else the default for the source's kind
    of market (so the synthetic market and real data never share a file by default)."""
    default = SYNTHETIC_DB if source is not None and is_synthetic(source) else DEFAULT_DB
    return Path(flag or os.environ.get("ALVH_DB") or default)


def sql_command(db: Path) -> str:
    """How to query ``db`` from the command line (``--db`` only when not the default)."""
    return "alvh sql" if db == db_path() else f"alvh sql --db {db}"


def is_synthetic(source: str) -> bool:
    return source == "synthetic" or source.startswith("synthetic:")


def configured_source(flag: str | None = None) -> str | None:
    return flag or os.environ.get("ALVH_SOURCE") or None


def shared_data() -> Path:
    return Path(os.environ.get("ALVH_SHARED_DATA", "../shared/data"))


def option_quotes() -> Path:
    """The SPX option quote samples besides the 2011 chain (``alvh calibrate``)."""
    return Path(os.environ.get("ALVH_OPTION_QUOTES") or shared_data().parent / "option-quotes")


def cache_dir(db: Path) -> Path:
    return Path(os.environ.get("ALVH_CACHE") or db.parent / "cache")


def cboe_url() -> str:
    return os.environ.get("ALVH_CBOE_URL", "https://cdn.cboe.com").rstrip("/")


def fred_url() -> str:
    return os.environ.get("ALVH_FRED_URL", "https://fred.stlouisfed.org").rstrip("/")


def fred_api_url() -> str:
    return os.environ.get("ALVH_FRED_API_URL", "https://api.stlouisfed.org").rstrip("/")


def fed_url() -> str:
    return os.environ.get("ALVH_FED_URL", "https://www.federalreserve.gov").rstrip("/")


def fred_api_key() -> str | None:
    return os.environ.get("FRED_API_KEY") or None


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def _number(name: str, default: float, *, low: float, high: float, whole: bool = False) -> float:
    """``name``'s value (``default`` when unset or empty), typed and within [low, high]."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(int(text)) if whole else float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        kind = "a whole number" if whole else "a number"
        raise SettingError(f"{name}={text!r}: expected {kind} in [{low:g}, {high:g}]")
    return value


def flag(name: str) -> bool:
    """A switch: unset, empty, 0, false, no or off is off; 1, true, yes or on is on."""
    text = os.environ.get(name, "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise SettingError(f"{name}={text!r}: expected 0/1, true/false, yes/no or on/off")


def http_retries() -> int:
    return int(_number("ALVH_HTTP_RETRIES", 3, low=0, high=20, whole=True))


def http_deadline() -> float:
    return _number("ALVH_HTTP_DEADLINE", 120, low=0.1, high=86_400)


def max_quarantine_share() -> float:
    return _number("ALVH_MAX_QUARANTINE_SHARE", 0.05, low=0, high=1)


def http_backoff() -> float:
    return _number("ALVH_HTTP_BACKOFF", 1.0, low=0, high=600)


def lock_wait() -> float:
    return _number("ALVH_LOCK_WAIT", 60, low=0, high=86_400)


def sql_memory() -> str:
    """DuckDB's memory limit for ``alvh sql`` (``ALVH_SQL_MEMORY``, e.g. ``4GB``)."""
    text = os.environ.get("ALVH_SQL_MEMORY", "").strip() or "4GB"
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text, re.IGNORECASE):
        raise SettingError(f"ALVH_SQL_MEMORY={text!r}: expected a size like 512MB or 4GB")
    return text


def sql_timeout() -> float:
    """Seconds an ``alvh sql`` statement may run (``ALVH_SQL_TIMEOUT``)."""
    return _number("ALVH_SQL_TIMEOUT", 300, low=0.1, high=86_400)


def server_start_timeout() -> float:
    """Seconds to wait for the ephemeral Prefect API server to answer (Prefect's own
    ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS``, 90 here by default)."""
    return _number("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 90, low=1, high=3_600)


def max_input_mb() -> float:
    """The largest input file, in MB, as stored and decompressed (``ALVH_MAX_INPUT_MB``)."""
    return _number(LIMIT_SETTING, INPUT_LIMITS.max_bytes / 2**20, low=1, high=1_000_000)


def debug() -> bool:
    return flag("ALVH_DEBUG")


def check() -> None:
    """Parse every typed setting: SettingError names the first bad one."""
    readers = (http_retries, http_deadline, max_quarantine_share, http_backoff, debug)
    for read in (*readers, sql_memory, sql_timeout, lock_wait, max_input_mb, server_start_timeout):
        read()


def configure() -> None:
    """Check every setting and apply those a process holds: Prefect's defaults (they must
    be in the environment before Prefect is imported), the writers' lock wait and the
    input bound. Called once where a process starts (the command line, the test session,
    each benchmark); importing a module changes nothing. SettingError names the first bad
    variable, and then nothing is applied."""
    check()
    _setdefault_prefect_env()
    os.environ["NUMBA_CACHE_DIR"] = str(_used(numba_cache()))
    if "numba" in sys.modules:  # read at its import: a late configure() re-reads it
        sys.modules["numba"].config.reload_config()
    WRITER_WAIT.seconds = lock_wait()
    INPUT_LIMITS.max_bytes = int(max_input_mb() * 2**20)
