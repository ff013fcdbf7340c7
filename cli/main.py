"""The ``alvh`` command line.

Exit codes: 0 success, 1 a job or query failed, 2 usage error, 3 warehouse busy.
Every failure prints one ``error:`` line (and a hint where there is one) on stderr and
no traceback; ``alvh --debug COMMAND`` shows the traceback and Prefect's own log.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cli import backtest as cli_backtest
from cli import calibrate as cli_calibrate
from cli import replicate as cli_replicate
from cli import report as cli_report
from flows import (
    ephemeral,
    settings,
)  # settings: Prefect's environment before import

if TYPE_CHECKING:
    import polars as pl
    from prefect.runner import Runner

SYNTHETIC_NOTICE = (
    "No source configured (--source or ALVH_SOURCE): using the synthetic market "
    "(seeded, offline). Use --source dir:PATH or --source live for real data."
)
EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 1, 2, 3
READ_ONLY_TYPES = {"SELECT", "EXPLAIN"}


def _print_table(frame: pl.DataFrame, *, max_rows: int = -1) -> None:
    """A frame as a plain terminal table (no shape line, no dtypes, all columns)."""
    import polars as pl

    with pl.Config(
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=max_rows,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=80,
    ):
        print(frame)


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help=f"warehouse file (env ALVH_DB; default {settings.DEFAULT_DB}, or "
        f"{settings.SYNTHETIC_DB} when ingesting the synthetic market)",
    )


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        help="dir:PATH (a data folder), live (publishers' downloads), or synthetic[:SEED] "
        "(env ALVH_SOURCE; default synthetic)",
    )
    p.add_argument("--seed", type=int, default=4, help="seed of the synthetic market (default 4)")
    p.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="date revisions of macro values are dated by (default today)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="re-read every input, even those unchanged since their last load",
    )


class _Parser(argparse.ArgumentParser):
    """Suggests the nearest command for a mistyped one (``alvh sweeep``)."""

    def error(self, message: str) -> NoReturn:
        import difflib

        typed = re.search(r"invalid choice: '([^']*)'", message)
        if typed and (choices := re.findall(r"'([^']+)'", message.split("choose from", 1)[-1])):
            near = difflib.get_close_matches(typed[1], choices, n=1)
            if near:
                message += f"; did you mean {near[0]!r}?"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="alvh",
        description="Research pipeline for hedged short-volatility books (SPX iron condors "
        "with a VIX second engine) on DuckDB, Polars, Great Expectations and Prefect.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks and Prefect's engine errors (env ALVH_DEBUG)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "run",
        help="run the pipeline flow: ingest (with validation), signals, the default backtest",
        description="Ingest a source (each batch validated), recompute the signals, run "
        "the default backtest and publish the snapshot; with no source, the synthetic market.",
        epilog="example: alvh run --source dir:../shared/data",
    )
    _add_source(p)
    p.add_argument(
        "--allow-stale",
        action="store_true",
        help="run signals and backtests even if the ingest failed (on the last good data)",
    )
    _add_db(p)

    p = sub.add_parser(
        "ingest",
        help="load market and macro series from a source",
        description="Load every series a source holds into the warehouse, one transaction "
        "per series, each batch checked by its data contract; bad rows go to quarantine.",
        epilog="example: alvh ingest --source dir:../shared/data-updates/2026-09",
    )
    _add_source(p)
    _add_db(p)

    p = sub.add_parser(
        "signals",
        help="recompute the signal tables from the warehouse",
        description="Recompute signals.signals_daily and signals.macro_signals, point in "
        "time, from the core tables.",
        epilog="example: alvh signals --db data/alvh.duckdb",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="recompute even when the tables were computed from the core tables as stored",
    )
    _add_db(p)

    p = sub.add_parser(
        "validate",
        help="check the warehouse against the data contracts",
        description="Run the Great Expectations suites on the tables as stored, record the "
        "outcomes and write an HTML report; fails when a critical rule fails.",
        epilog="example: alvh validate vx_futures spx_daily",
    )
    p.add_argument("tables", nargs="*", metavar="TABLE", help="tables to check (default: all)")
    _add_db(p)

    cli_backtest.add_parsers(sub, _add_db)
    cli_replicate.add_parser(sub, _add_db)
    cli_calibrate.add_parser(sub, _add_db)
    cli_report.add_parser(sub, _add_db)

    p = sub.add_parser(
        "serve",
        help="serve the scheduled deployments (pipeline/daily, pipeline/weekly-review, "
        "sweep/ad-hoc) on a Prefect server until stopped",
        description="Serve the deployments on the Prefect server PREFECT_API_URL names, on "
        "NYSE schedules, until SIGTERM or SIGINT.",
        epilog="example: PREFECT_API_URL=http://127.0.0.1:4200/api alvh serve",
    )
    p.add_argument(
        "--source", default="live", help="what the scheduled pipeline ingests (default live)"
    )
    _add_db(p)

    p = sub.add_parser(
        "load-staged",
        help="write results that were kept as files while the warehouse was busy",
        description="Write the backtests and sweeps kept under data/staged/ while the "
        "warehouse was busy, one transaction each.",
        epilog="example: alvh load-staged --db data/alvh.duckdb",
    )
    _add_db(p)

    p = sub.add_parser(
        "sql",
        help="run read-only SQL against the warehouse",
        description="Run SELECT, DESCRIBE, SHOW or EXPLAIN against the warehouse (or its "
        "snapshot) in DuckDB's sandbox, under ALVH_SQL_MEMORY and ALVH_SQL_TIMEOUT.",
        epilog='example: alvh sql --format csv "SELECT * FROM core.vix_daily LIMIT 5"',
    )
    p.add_argument("query", help="SQL text (SELECT, DESCRIBE, SHOW, EXPLAIN)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--max-rows", type=int, default=50, help="rows shown by --format table")
    p.add_argument(
        "--wait", type=float, default=3.0, help="seconds to wait while a flow is writing"
    )
    p.add_argument(
        "--snapshot",
        action="store_true",
        help="query the snapshot published after the last flow (never blocked by a writer)",
    )
    _add_db(p)
    return parser


def _ingest(args: argparse.Namespace) -> int:
    source = settings.configured_source(args.source)
    if source is None:
        print(SYNTHETIC_NOTICE, flush=True)
        source = "synthetic"
    from flows.ingest import IngestFailed, IngestParams, check_market, ingest_flow
    from flows.sources import check_spec

    db = settings.db_path(args.db, source=source)
    try:
        check_spec(source)
        check_market(db, source)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ephemeral.start()
    if args.command == "run":
        return _pipeline(args, source, db)
    params = IngestParams(
        source=source,
        db=db,
        seed=args.seed,
        force=args.force,
        **({"as_of": args.as_of} if args.as_of else {}),
    )
    try:
        ingest_flow(params)
    except IngestFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_summary(params.db)
        return EXIT_FAILED
    _print_summary(params.db)
    return 0


def _pipeline(args: argparse.Namespace, source: str, db: Path) -> int:
    """``alvh run``: the pipeline flow (ingest, signals, the default book's backtest)."""
    from flows.pipeline import PipelineParams, PipelineStopped, pipeline_flow
    from flows.signals import InputsMissing
    from flows.validation import ValidationFailed

    params = PipelineParams(
        source=source,
        db=db,
        seed=args.seed,
        force=args.force,
        as_of=args.as_of,
        allow_stale=args.allow_stale,
    )
    try:
        out = pipeline_flow(params)
    except PipelineStopped as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_summary(db)
        return EXIT_FAILED
    except (ValidationFailed, InputsMissing) as exc:
        return _signals_failed(exc)
    _print_summary(db)
    for rid, metrics in out["backtests"]:
        print(f"backtest {rid} of the default book (alvh backtest --param NAME=VALUE to vary):")
        cli_backtest.print_metrics(metrics, _print_table)
    if out["note"]:
        print(f"warning: {out['note']}")
    return 0


def _signals_failed(exc: Exception) -> int:
    """The line for signals that were not computed (missing inputs) or not written (a
    data contract failed)."""
    from flows.validation import ValidationFailed

    written = "signals not written: " if isinstance(exc, ValidationFailed) else ""
    print(f"error: {written}{exc}", file=sys.stderr)
    return EXIT_FAILED


def _existing_db(args: argparse.Namespace) -> Path | None:
    """The warehouse the command names, or None (with a message) if there is none yet."""
    db = settings.db_path(args.db)
    if not db.is_file():
        print(f"error: no warehouse at {db}: run `alvh ingest` first", file=sys.stderr)
        return None
    return db


def _signals(args: argparse.Namespace, *, force: bool = False) -> int:
    from flows.signals import SignalsParams, signals_flow

    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED
    from flows.signals import InputsMissing
    from flows.validation import ValidationFailed

    ephemeral.start()
    try:
        signals_flow(SignalsParams(db=db, force=force))
    except (ValidationFailed, InputsMissing) as exc:
        return _signals_failed(exc)
    print(
        f'query it: {settings.sql_command(db)} "SELECT * FROM signals.signals_daily '
        'ORDER BY date DESC LIMIT 5"'
    )
    return 0


def _research(args: argparse.Namespace) -> int:
    from warehouse.db import WarehouseBusy

    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED
    from flows.backtest import ResultsStaged

    handler = cli_backtest.sweep if args.command == "sweep" else cli_backtest.backtest
    try:
        return handler(args, db, _print_table)
    except (WarehouseBusy, ResultsStaged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _replicate(args: argparse.Namespace) -> int:
    from flows.backtest import has_signals
    from transforms.replicate.run import check_indices

    try:
        check_indices(args.indices or [])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED

    def run() -> int:
        if not has_signals(db):
            print("the warehouse has no signals yet: computing them first", flush=True)
            status = _signals(args)
            if status:
                return status
        return cli_replicate.replicate(args, db, _print_table)

    return _with_inputs(run)


def _calibrate(args: argparse.Namespace) -> int:
    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED
    return _with_inputs(lambda: cli_calibrate.calibrate(args, db, _print_table))


def _with_inputs(run: Callable[[], int]) -> int:
    """``run``'s status, or one line and its exit code when the warehouse is busy
    (:data:`EXIT_BUSY`) or an input file is missing or unreadable (:data:`EXIT_USAGE`)."""
    from warehouse.db import WarehouseBusy

    try:
        return run()
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _print_summary(db: Path) -> None:

    from warehouse.db import connect_reader
    from warehouse.load import read_frame

    con = connect_reader(db)
    try:
        frame = read_frame(con, "query/last_ingest_summary")
    finally:
        con.close()
    _print_table(frame)
    print(
        f"warehouse: {db}   query it: "
        f'{settings.sql_command(db)} "SELECT * FROM core.vix_daily LIMIT 5"'
    )


def _validate(args: argparse.Namespace) -> int:
    import polars as pl

    from flows.validate import ValidateParams, check_tables, derived_mismatches, validate_flow

    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED
    try:
        check_tables(args.tables)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ephemeral.start()
    reports, path = validate_flow(ValidateParams(db=db, tables=args.tables))
    table = pl.DataFrame(
        {
            "table": [r.table for r in reports],
            "result": ["pass" if r.passed else "FAIL" for r in reports],
            "rules": [len(r.outcomes) for r in reports],
            "failed": [len(r.failures) for r in reports],
            "warnings": [len(r.warnings) for r in reports],
            "rows": [r.rows for r in reports],
        }
    )
    _print_table(table)
    for r in reports:
        if r.failures or r.warnings:
            print(r.summary())
    print(f"report: {path}")
    derived = derived_mismatches(db)
    for line in derived:
        print(f"FAIL {line}")
    return 0 if all(r.passed for r in reports) and not derived else EXIT_FAILED


def _sql(args: argparse.Namespace) -> int:
    import duckdb

    from warehouse.db import WarehouseBusy, connect_reader, snapshot_path

    db = settings.db_path(args.db)
    path = snapshot_path(db) if args.snapshot else db
    try:
        con = connect_reader(
            path, wait_seconds=args.wait, sandboxed=True, memory_limit=settings.sql_memory()
        )
    except WarehouseBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        statements = con.extract_statements(args.query)
        for i, st in enumerate(statements, 1):
            kind = st.type.name
            if kind not in READ_ONLY_TYPES:
                print(
                    f"error: alvh sql is read-only: statement {i} is {kind}, which is refused. "
                    "Only SELECT, DESCRIBE, SHOW and EXPLAIN run here; data changes go "
                    "through the pipeline's commands.",
                    file=sys.stderr,
                )
                return EXIT_FAILED
        for st in statements:
            frame = _timed(con, st.query, settings.sql_timeout())
            if args.format == "csv":
                sys.stdout.write(_flat(frame, nested=True).write_csv())
            elif args.format == "json":
                sys.stdout.write(_flat(frame, nested=False).write_json() + "\n")
            else:
                _print_table(frame, max_rows=args.max_rows)
                if frame.height > args.max_rows:
                    print(f"({frame.height} rows; showing {args.max_rows}; --max-rows N for more)")
    except (QueryTimeout, duckdb.Error) as exc:
        print(f"error: {_sql_failure(exc)}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        con.close()
    return 0


class QueryTimeout(RuntimeError):
    pass


def _shown_column(name: str, kind: str) -> str:
    """A result column as ``alvh sql`` prints it: as is, or as DuckDB's text where no
    output format has the type (intervals, unions, bytes inside lists or structs)."""
    quoted = '"' + name.replace('"', '""') + '"'
    if "INTERVAL" in kind or "UNION" in kind or ("BLOB" in kind and kind != "BLOB"):
        return f"CAST({quoted} AS VARCHAR) AS {quoted}"
    return quoted


def _sql_failure(exc: Exception) -> str:
    """The line for a statement ``alvh sql`` could not run."""
    import duckdb

    if isinstance(exc, duckdb.OutOfMemoryException):
        return (
            f"the query needs more memory than alvh sql's limit of {settings.sql_memory()} "
            f"(ALVH_SQL_MEMORY): {str(exc).splitlines()[0]}"
        )
    if isinstance(exc, duckdb.PermissionException):
        return f"alvh sql reads only the warehouse's own tables: {exc}"
    return str(exc)


def _timed(con: Any, query: str, seconds: float) -> pl.DataFrame:
    """``query``'s result, interrupted after ``seconds`` (QueryTimeout says so)."""
    import threading

    import duckdb
    import polars as pl

    timer = threading.Timer(seconds, con.interrupt)
    timer.start()
    try:
        relation = con.sql(query)
        shown = [
            _shown_column(name, str(kind))
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
        if any(" AS " in s for s in shown):
            relation = relation.project(", ".join(shown))
        frame = pl.from_arrow(relation.to_arrow_table())
    except duckdb.InterruptException:
        if timer.is_alive():
            raise  # Ctrl-C
        raise QueryTimeout(
            f"the query ran past alvh sql's limit of {seconds:g} s (ALVH_SQL_TIMEOUT)"
        ) from None
    finally:
        timer.cancel()
    assert isinstance(frame, pl.DataFrame)
    return frame


def _flat(frame: pl.DataFrame, *, nested: bool) -> pl.DataFrame:
    """``frame`` with binary columns as hex text and, if ``nested``, lists and structs as
    JSON text (CSV has no nested values; JSON has no bytes)."""
    import json

    import polars as pl

    out = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if dtype == pl.Binary:
            column = column.bin.encode("hex")
        elif nested and dtype.is_nested():
            texts = [
                None if v is None else json.dumps(v, default=str) for v in frame[name].to_list()
            ]
            column = pl.Series(name, texts, dtype=pl.String)  # type: ignore[assignment]
        out.append(column)
    return frame.select(out)


class _EngineErrors(logging.Filter):
    """Keeps the run logs off the console but their warnings: the command prints its own
    lines (flows.runlog.say) and its own one-line error, while the Prefect API still
    records every run log at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno != logging.WARNING
            and record.name.startswith(("prefect.flow_runs", "prefect.task_runs"))
        )


@contextmanager
def without_heartbeats(command: str) -> Iterator[None]:
    """A command's flows send Prefect no heartbeats: the heartbeat thread wakes once a
    second, and every flow's end (subflows included) waits for it, up to a second each;
    nothing watches a command's heartbeats. Served deployments keep theirs."""
    if command not in FLOW_COMMANDS:
        yield
        return
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def _quiet_engine_errors() -> None:
    from prefect.logging.configuration import setup_logging
    from prefect.logging.handlers import PrefectConsoleHandler

    if not any(isinstance(h, PrefectConsoleHandler) for h in logging.getLogger().handlers):
        setup_logging()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler) and not any(
            isinstance(f, _EngineErrors) for f in handler.filters
        ):
            handler.addFilter(_EngineErrors())


def _failure(exc: BaseException) -> tuple[str, int]:
    """The one line (and exit code) for an exception no command handled."""
    import duckdb

    from warehouse.db import WarehouseBusy, snapshot_path, storage_fault

    if isinstance(exc, WarehouseBusy):
        return str(exc), EXIT_BUSY
    if fault := storage_fault(exc):
        return str(fault), EXIT_FAILED
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc} (errno {exc.errno})", EXIT_FAILED
    if isinstance(exc, duckdb.IOException):
        line = f"the warehouse file cannot be written or read: {exc}"
        named = re.search(r'"([^"]+\.duckdb)"', str(exc))
        if named and snapshot_path(Path(named[1])).exists():
            snapshot = snapshot_path(Path(named[1]))
            line += (
                f"; the last good snapshot is {snapshot}: to restore, replace {named[1]} with it"
            )
        return line, EXIT_FAILED
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}", EXIT_FAILED


FLOW_COMMANDS = frozenset(
    {"ingest", "run", "signals", "validate", "backtest", "sweep", "replicate", "report"}
)
"""The commands that run flows (and so need Prefect's API)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. From the command line (no ``argv``), the process
    then ends without the interpreter's teardown (:func:`_exit_at_once`)."""
    if argv is not None:
        return _command(argv)
    code: list[int] = []
    atexit.register(_exit_at_once, code)  # first of this process's handlers: runs last
    code.append(_command(None))
    return code[0]


def _exit_at_once(code: list[int]) -> None:
    """End the process with the command's exit code once every other exit handler has
    run (Prefect's, the temporary server's stop) and logging and the standard streams
    are flushed, skipping the interpreter's teardown, which frees every module and object
    one at a time: 0.3-0.5 s after a command's imports and work, for nothing. A command
    that did not return (an uncaught exception) or a stream that cannot be flushed (a
    closed pipe) gets the usual teardown."""
    if code:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code[0])


def _command(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings.configure()
        args.debug = args.debug or settings.debug()
    except settings.SettingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if argv is None and args.command in FLOW_COMMANDS:
        # The command line (not a caller in a process of its own, such as a test, which
        # keeps Prefect's own start): the API starts while the command gets going.
        ephemeral.launch()
    if args.command not in ("sql", "load-staged", "serve") and not args.debug:
        _quiet_engine_errors()
    try:
        with without_heartbeats(args.command):
            return _dispatch(args)
    except KeyboardInterrupt as exc:
        print("error: interrupted", file=sys.stderr)
        _notes(exc)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        line, code = _failure(exc)
        print(f"error: {_screenful(line)}", file=sys.stderr)
        _notes(exc)
        print("hint: alvh --debug ... shows the traceback", file=sys.stderr)
        return code


SCREENFUL = 1000
"""The most characters an error line prints (a library's message can quote megabytes)."""


def _screenful(line: str) -> str:
    """``line``, cut to :data:`SCREENFUL` characters saying how much was left out."""
    if len(line) <= SCREENFUL:
        return line
    return f"{line[:SCREENFUL]}... ({len(line) - SCREENFUL:,} characters more: --debug shows all)"


def _notes(exc: BaseException) -> None:
    """The notes a run added to ``exc`` (what it had committed before it), a line each."""
    for note in getattr(exc, "__notes__", []):
        print(f"  {_screenful(note)}", file=sys.stderr)


def _load_staged(args: argparse.Namespace) -> int:
    from warehouse.db import publish_snapshot, writer
    from warehouse.staging import load_staged, staged

    db = _existing_db(args)
    if db is None:
        return EXIT_FAILED
    folders = staged(db)
    for folder in folders:
        with writer(db) as con:
            print(f"loaded {load_staged(con, folder)} from {folder}")
    if folders:
        publish_snapshot(db)
    else:
        print(f"nothing staged for {db}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    import httpx
    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import deployments
    from flows.settings import EXCHANGE_TZ
    from flows.sources import check_spec

    api = PREFECT_API_URL.value()
    if not api:
        print(
            "error: alvh serve needs a Prefect server (Prefect's ephemeral mode runs no "
            "schedules): start one with `prefect server start`, then "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        healthy = httpx.get(f"{api.rstrip('/')}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        healthy = False
    if not healthy:
        print(
            f"error: no Prefect server answers at {api}: start one with `prefect server "
            "start` (or point PREFECT_API_URL at a running server)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        check_spec(args.source)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from datetime import datetime

    today = datetime.now(EXCHANGE_TZ).date()
    db = Path(args.db) if args.db else None
    runner = Runner(pause_on_shutdown=True, limit=1)
    try:
        for deployment in deployments(source=args.source, db=db, today=today):
            runner.add_deployment(deployment)  # each registered through the API
        print(f"serving on {api} (source {args.source}); stop with Ctrl-C", flush=True)
        gone = asyncio.run(_serve_until_stopped(runner, api))
    except httpx.HTTPError as exc:  # the server went away under the runner itself
        gone = f"the Prefect server at {api} stopped answering ({type(exc).__name__})"
    if gone:
        print(f"error: {gone}; alvh serve stopped", file=sys.stderr)
        return EXIT_FAILED
    print("alvh serve stopped", flush=True)
    return 0


SERVER_CHECK = 2.0  # seconds between health checks of the Prefect server while serving
SERVER_MISSES = 3  # failed checks in a row after which serving stops


async def _serve_until_stopped(runner: Runner, api: str) -> str | None:
    """Run ``runner`` until SIGTERM or SIGINT (then None) or until its Prefect server has
    stopped answering (then why); either way the runner is stopped and awaited."""
    import asyncio
    import signal

    import httpx

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    why: list[str] = []

    def request_stop(*_: object) -> None:
        loop.call_soon_threadsafe(stop.set)

    runner.handle_sigterm = request_stop  # type: ignore[method-assign]  # Runner.start installs it
    loop.add_signal_handler(signal.SIGINT, request_stop)

    async def watch() -> None:
        misses = 0
        async with httpx.AsyncClient(timeout=5) as client:
            while not stop.is_set():
                await asyncio.sleep(SERVER_CHECK)
                try:
                    ok = (await client.get(f"{api.rstrip('/')}/health")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                misses = 0 if ok else misses + 1
                if misses >= SERVER_MISSES:
                    why.append(f"the Prefect server at {api} stopped answering")
                    stop.set()

    serving = asyncio.create_task(runner.start())
    watching = asyncio.create_task(watch())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    watching.cancel()
    failed = serving.done() and not serving.cancelled() and serving.exception()
    if isinstance(failed, httpx.HTTPError) and not why:  # before the checks noticed
        why.append(f"the Prefect server at {api} stopped answering ({type(failed).__name__})")
    if not serving.done():
        if runner.started:
            await runner.astop()
        try:  # pausing the schedules needs the server: give up on it if it has gone
            await asyncio.wait_for(serving, timeout=5 if why else 30)
        except (TimeoutError, httpx.HTTPError):
            serving.cancel()
    stopping.cancel()
    return why[0] if why else None


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "sql":
        return _sql(args)
    if args.command == "validate":
        return _validate(args)
    if args.command == "signals":
        return _signals(args, force=args.force)
    if args.command in ("backtest", "sweep"):
        return _research(args)
    if args.command == "params":
        return cli_backtest.params(args, _print_table)
    if args.command == "replicate":
        return _replicate(args)
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "load-staged":
        return _load_staged(args)
    if args.command == "report":
        db = _existing_db(args)
        return EXIT_FAILED if db is None else cli_report.report(args, db)
    if args.command == "serve":
        return _serve(args)
    return _ingest(args)


if __name__ == "__main__":
    sys.exit(main())
