"""The ingest flow: one Prefect task per series, each one transaction.

calendar -> every source series (CPI release dates first, then SPX, VIX, VIX3M, VVIX, VX,
breadth, CPI/PPI, T-bill, FOMC) -> derived VX curve tables. A series that fails
(unreadable file, download error) is recorded with its reason and does not stop the
others; the flow run then ends failed with a summary naming each failed series and why.

A series whose inputs are identical to its last successful load (same file contents,
same parser and rule code, and for CPI/PPI the same release calendar) is not read again
and is recorded as ``unchanged``; ``force=True`` re-reads everything.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from prefect import flow, task
from prefect.states import State
from pydantic import BaseModel, Field

from flows import artifacts, settings, validation
from flows.runlog import after_commit, say
from flows.sources import Item, Source, make_source, trading_calendar
from transforms.columns import (
    BY_NAME,
    FOMC_MEETINGS,
    INGESTED,
    MACRO_MONTHLY,
    RELEASE_DATES,
    TRADING_CALENDAR,
    VX_CONSTANT_MATURITY,
    VX_TERM_STRUCTURE,
    Series,
)
from transforms.macro import date_releases
from transforms.parse import ParsedBatch, ParseError
from transforms.parse.common import generated
from transforms.quality import (
    COUNT_TOLERANCE,
    PRICE_TOLERANCE,
    concat_rejects,
    disagreeing_copies,
    fomc_calendar_staleness,
    fomc_unlisted,
    history_gaps,
    keep_absent_columns,
    overlap,
    resolve_precedence,
    split_malformed,
    unusable_files,
    without_a_trade,
)
from transforms.vx import constant_maturity, term_structure
from warehouse.db import (
    WRITER_WAIT,
    StorageFault,
    WarehouseBusy,
    connect_reader,
    publish_snapshot,
    transaction,
    writer,
)
from warehouse.load import (
    LoadCounts,
    RunInfo,
    keep_rejects,
    load_batch,
    read_frame,
    read_table,
    record_failure,
    record_run,
)

CALENDAR_START = date(1990, 1, 1)


class IngestParams(BaseModel):
    """Parameters of an ingest run (validated the same way by Prefect and the CLI)."""

    source: str = Field("synthetic", description="dir:PATH, live, or synthetic[:SEED]")
    db: Path = Field(default_factory=settings.db_path)
    as_of: date = Field(default_factory=date.today, description="date revisions are dated by")
    seed: int = 4  # a path with a 2008-like drawdown (-53 %), 20 % vol
    synthetic_start: date = date(2004, 1, 2)
    synthetic_end: date = date(2025, 12, 31)
    force: bool = Field(False, description="re-read inputs even if unchanged since last load")


class IngestFailed(RuntimeError):
    pass


class MarketsMixed(ValueError):
    """An ingest would put real data and the synthetic market in one warehouse."""


def check_market(db: Path, source: str) -> None:
    """Raise MarketsMixed if ``db`` holds the other kind of market than ``source``."""
    if not db.is_file():
        return
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        held = read_frame(con, "query/warehouse_markets")["market"].to_list()
    finally:
        con.close()
    kind = "synthetic" if settings.is_synthetic(source) else "real"
    if held and kind not in held:
        raise MarketsMixed(
            f"{db} holds the {held[0]} market; loading {kind} data ({source}) into it would "
            f"mix them. Use another warehouse (--db PATH; by default the synthetic market "
            f"goes to {settings.SYNTHETIC_DB} and real data to {settings.DEFAULT_DB}), or "
            f"remove {db} first"
        )


@dataclass(frozen=True)
class Outcome:
    line: str
    changed: bool


class BatchRejected(RuntimeError):
    """A series' inputs cannot be loaded as they are; nothing of them is (their rejected
    rows are kept in quarantine)."""


def _screen(
    stored: pl.DataFrame,
    core: pl.DataFrame,
    series: Series,
    *,
    force: bool,
    problems: list[str],
    warnings: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """An input against the stored history: restated values (revisions, or conflicts
    refused unless ``force``), a shorter history (refused), stored rows it lacks, moved
    FOMC meetings (warnings). Appends to ``problems`` and ``warnings``; returns the batch
    with columns it lacks kept as stored, and the revisions to record."""
    revisions = None
    if series.observed:
        if series.name != "macro_monthly":  # revisions there are new vintages
            core = keep_absent_columns(core, stored, series)
            restated = overlap(stored, core, series)
            revisions = restated.revisions
            if restated.conflicts.height and not force:
                problems.append(
                    f"{series.name}: the input restates "
                    f"{restated.conflicts.height} stored values beyond tolerance "
                    f"({PRICE_TOLERANCE:.0%} for prices, {COUNT_TOLERANCE:.0%} for "
                    f"counts): {restated.describe(restated.conflicts)}; --force "
                    "loads them (the stored values are kept in core.revisions)"
                )
            elif restated.conflicts.height:
                revisions = pl.concat([revisions, restated.conflicts])
            if revisions.height:
                rows = revisions["natural_key"].n_unique()
                warnings.append(
                    f"{rows} rows revised ({revisions.height} values; the stored "
                    "values are kept in core.revisions): "
                    f"{restated.describe(revisions)}"
                )
        gaps = history_gaps(stored, core, series)
        if gaps.after.height and not force:
            problems.append(
                f"{series.name}: the input ends before the stored history: "
                f"{gaps.describe(gaps.after)} stored after its last date are missing "
                "from it (a truncated download or an older file?); --force loads it "
                "anyway (stored rows are never deleted)"
            )
        idle, other = without_a_trade(gaps.inside, stored, series)
        if idle.height:
            warnings.append(
                f"the input lacks {gaps.describe(idle)} that the warehouse holds: "
                "days without a trade (volume 0, no close), which some publishers "
                "omit (Cboe's own files carry them, vix_utils drops them); kept as "
                "stored"
            )
        if other.height:
            warnings.append(
                f"the input lacks {gaps.describe(other)} that the warehouse holds (kept as stored)"
            )
    if series is FOMC_MEETINGS and (moved := fomc_unlisted(stored, core)):
        warnings.append(
            f"{len(moved)} stored scheduled meetings are not on this calendar for their "
            f"year: {', '.join(map(str, moved))} (moved or cancelled? kept as stored; "
            "delete them from core.fomc_meetings if the publisher moved them)"
        )
    return core, revisions


def _load(
    db: Path,
    info: RunInfo,
    *,
    series: Series,
    batches: list[ParsedBatch],
    locations: list[str],
    fingerprint: str | None = None,
    screen: bool = False,
    force: bool = False,
    ranks: list[int] | None = None,
) -> LoadCounts:
    """Row rules, precedence, then one transaction: raw, quarantine, core merge, and the
    table's suite on the merged state; a failing suite rolls the batch back.

    With ``screen`` (inputs from a source, not generated tables) the batch is refused
    when a file yields no valid row or too many rejects, or when it would end the
    series' stored history earlier (unless ``force``); stored rows inside its span that
    it lacks are a recorded warning, and when two files of equal precedence (``ranks``,
    one per batch) give a key different values. A refused or rolled-back batch still
    keeps its rejected rows and its validation results."""
    goods, rejects = [], []
    for b in batches:
        good, bad = split_malformed(b.frame, series, as_of=info.as_of)
        goods.append(good)
        rejects.append(concat_rejects([b.rejects, bad]))
    core = resolve_precedence(goods, series)
    all_rejects = concat_rejects(rejects)
    problems = (
        unusable_files(batches, goods, rejects, limit=settings.max_quarantine_share())
        if screen
        else []
    )
    if ranks is not None and (ambiguous := disagreeing_copies(goods, ranks, series)):
        problems.append(
            f"{series.name}: files of one kind disagree: {'; '.join(ambiguous)}; a source "
            "may hold one version of a series (remove one, or ingest each folder in turn)"
        )
    try:
        with writer(db) as con:
            warnings: list[str] = []
            revisions = None
            if screen and not problems:
                core, revisions = _screen(
                    read_table(con, series.name),
                    core,
                    series,
                    force=force,
                    problems=problems,
                    warnings=warnings,
                )
            if problems:
                raise BatchRejected("nothing loaded: " + "; ".join(problems))
            return load_batch(
                con,
                series=series,
                info=info,
                core=core,
                parsed=pl.concat(goods),
                rejects=all_rejects,
                locations=locations,
                rows_read=sum(b.rows_read for b in batches),
                rows_skipped=sum(b.rows_skipped for b in batches),
                fingerprint=fingerprint,
                check=validation.gate(series.name, info.run_id),
                warnings=warnings,
                revisions=revisions,
            )
    except (validation.ValidationFailed, BatchRejected) as failed:
        # The data is rolled back; the rows and rules that explain why are kept.
        with writer(db) as con, transaction(con):
            keep_rejects(con, series=series, run_id=info.run_id, rejects=all_rejects)
            if isinstance(failed, validation.ValidationFailed):
                validation.record(con, info.run_id, failed.report, blocked=True)
        raise


def _summary(series: Series, counts: LoadCounts) -> str:
    return (
        f"{series.name}: {counts.inserted} inserted, {counts.updated} updated, "
        f"{counts.unchanged} unchanged, {counts.quarantined} quarantined"
        + "".join(f"\n    warning: {w}" for w in counts.warnings)
    )


@task(name="load-calendar")
def load_calendar(db: Path, run_id: str, as_of: date) -> frozenset[date]:
    """Exchange calendar (XNYS, XCBF) into core.trading_calendar; returns NYSE holidays."""
    import exchange_calendars

    end = date(max(as_of.year, 2025) + 1, 12, 31)
    location = f"exchange_calendars {exchange_calendars.__version__} XNYS/XCBF"
    info = RunInfo(run_id, TRADING_CALENDAR.name, location, datetime.now(), as_of)
    frame = generated(trading_calendar(CALENDAR_START, end), location=location)
    batch = ParsedBatch(TRADING_CALENDAR, location, frame, concat_rejects([]), frame.height)
    _load(db, info, series=TRADING_CALENDAR, batches=[batch], locations=[location])
    return frozenset(frame.filter(~pl.col("nyse_open"))["date"].to_list())


@task(name="ingest-series")
def ingest_series(
    *,
    db: Path,
    run_id: str,
    source: Source,
    series_name: str,
    items: list[Item],
    as_of: date,
    force: bool,
    why_absent: str | None = None,
) -> Outcome:
    """Fetch, check and load every input of one series (one transaction);
    ``why_absent``: why the source has no input of it, if it says."""
    series = BY_NAME[series_name]
    info = RunInfo(run_id, series.name, source.label, datetime.now(), as_of)
    locations = [i.location for i in items]
    try:
        fetched = [(i, data) for i in items if (data := source.fetch(i)) is not None]
        # A change to the parsing, rule or dating code re-reads every input.
        digest = hashlib.sha256(settings.code_version().encode())
        for item, data in fetched:
            digest.update(f"{item.location}\0{hashlib.sha256(data).hexdigest()}\0".encode())
        with writer(db) as con:
            if not fetched:
                record_run(con, info, status="absent", locations=locations)
                why = f" ({why_absent})" if why_absent else ""
                return Outcome(f"{series.name}: absent from {source.label}{why}", changed=False)
            # CPI and PPI values are dated by their release dates: new dates re-date them.
            release_dates = (
                read_frame(con, "query/release_dates") if series is MACRO_MONTHLY else None
            )
            if release_dates is not None:
                digest.update(release_dates.write_csv().encode())
            fingerprint = digest.hexdigest()
            last = read_frame(con, "query/ingest_fingerprint", {"series": series.name})
            if not force and last["fingerprint"].to_list() == [fingerprint]:
                record_run(con, info, status="unchanged", locations=locations)
                return Outcome(
                    f"{series.name}: inputs unchanged since run {last['ingest_run_id'][0]}",
                    changed=False,
                )
        batches = [source.parse(i, data) for i, data in fetched]
        if release_dates is not None:
            batches = [
                ParsedBatch(
                    b.series,
                    b.location,
                    date_releases(b.frame, release_dates),
                    b.rejects,
                    b.rows_read,
                    b.rows_skipped,
                )
                for b in batches
            ]
        counts = _load(
            db,
            info,
            series=series,
            batches=batches,
            locations=locations,
            fingerprint=fingerprint,
            screen=True,
            force=force,
            ranks=[int(not (i.kind and i.kind.curated)) for i, _ in fetched],
        )
    except (WarehouseBusy, StorageFault):
        raise  # the warehouse cannot record anything now; the flow stops
    except (ParseError, OSError, RuntimeError, ValueError, duckdb.Error) as exc:
        try:
            with writer(db) as con:
                record_failure(con, info, error=str(exc), locations=locations)
        except (OSError, duckdb.Error) as unrecorded:  # e.g. the disk is still full
            exc.add_note(f"(the failure could not be recorded: {unrecorded})")
        raise
    return Outcome(_summary(series, counts), changed=counts.inserted + counts.updated > 0)


@task(name="derive-vx-curve")
def derive_vx_curve(db: Path, run_id: str, as_of: date, *, force: bool = False) -> str:
    """Rebuild core.vx_term_structure and core.vx_constant_maturity from core.vx_futures
    unless both were built from the futures as they are now (``force``: rebuild anyway).

    Each table records the fingerprint of the futures it was built from, so a run that
    was interrupted between the futures' load and the rebuild is repaired by the next
    run, whatever that run loads."""
    with writer(db) as con:
        inputs = read_frame(con, "query/vx_curve_inputs").row(0, named=True)
        current = inputs["futures"] == inputs["term_structure"] == inputs["constant_maturity"]
        if current and not force:
            return "vx curve tables: built from the VX futures as stored, not rebuilt"
        vx = read_frame(con, "query/vx_futures")
    if vx.is_empty():
        return "vx curve tables: no VX futures stored, not built"
    curve = term_structure(vx)
    location = "derived from core.vx_futures"
    out = []
    for series, frame in (
        (VX_TERM_STRUCTURE, curve),
        (VX_CONSTANT_MATURITY, constant_maturity(curve)),
    ):
        info = RunInfo(run_id, series.name, location, datetime.now(), as_of)
        batch = ParsedBatch(
            series, location, generated(frame, location=location), concat_rejects([]), frame.height
        )
        out.append(
            _summary(
                series,
                _load(
                    db,
                    info,
                    series=series,
                    batches=[batch],
                    locations=[location],
                    fingerprint=inputs["futures"],
                ),
            )
        )
    return "; ".join(out)


def _failure(state: State[Outcome]) -> str:
    """Why a series failed; a busy or unwritable warehouse stops the whole run instead."""
    try:
        state.result()
    except (WarehouseBusy, StorageFault):
        raise
    except Exception as exc:
        return " ".join([str(exc), *getattr(exc, "__notes__", [])])
    return "failed"


def _read(db: Path, table: str) -> pl.DataFrame:
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        return read_table(con, table)
    finally:
        con.close()


IGNORED_SHOWN = 10
"""Files a source holds but does not load, named one per line up to this many."""


def not_loaded(ignored: list[tuple[str, str]]) -> list[str]:
    """Lines naming the files a source holds but does not load (a summary past
    :data:`IGNORED_SHOWN`)."""
    lines = [f"not loaded: {location} ({reason})" for location, reason in ignored]
    if len(lines) > IGNORED_SHOWN:
        rest = len(lines) - IGNORED_SHOWN
        lines = [*lines[:IGNORED_SHOWN], f"not loaded: {rest} more files (not shown)"]
    return lines


@flow(name="ingest")
def ingest_flow(params: IngestParams) -> list[str]:
    """Ingest every series the source has into the warehouse; returns one line per series."""
    run_id = f"ingest-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    check_market(params.db, params.source)
    source = make_source(
        params.source,
        as_of=params.as_of,
        cache=settings.cache_dir(params.db),
        seed=params.seed,
        start=params.synthetic_start,
        end=params.synthetic_end,
        force=params.force,
    )
    say(f"ingest run {run_id} from {source.label} into {params.db}")
    holidays = load_calendar(params.db, run_id, params.as_of)
    plan = source.plan(holidays=holidays)
    if not plan.items:
        raise IngestFailed(
            f"ingest run {run_id}: {source.label} holds no input of any series "
            f"({len(plan.ignored)} files seen, none recognised): nothing loaded"
        )
    for line in not_loaded(plan.ignored):
        say(f"  {line}")
    lines, failures, changed = [], [], []
    ordered = [s for s in INGESTED if s is not TRADING_CALENDAR]
    # Release dates first: the macro task dates CPI values with them.
    ordered.sort(key=lambda s: s is not RELEASE_DATES)
    with after_commit(changed, "the remaining series, the VX curve tables, the snapshot"):
        for series in ordered:
            state = ingest_series(
                db=params.db,
                run_id=run_id,
                source=source,
                series_name=series.name,
                items=plan.items.get(series.name, []),
                as_of=params.as_of,
                force=params.force,
                why_absent=plan.absent.get(series.name),
                return_state=True,
            )
            if state.is_completed():
                outcome: Outcome = state.result()
                lines.append(outcome.line)
                if outcome.changed:
                    changed.append(f"core.{series.name}")
            else:
                failures.append(f"{series.name}: {_failure(state)}")
                lines.append(f"FAILED {failures[-1]}")
            say(f"  {lines[-1]}")
    with after_commit(changed, "the VX curve tables and the snapshot (`alvh ingest` does them)"):
        lines.append(derive_vx_curve(params.db, run_id, params.as_of, force=params.force))
    say(f"  {lines[-1]}")
    stale = fomc_calendar_staleness(_read(params.db, "fomc_meetings"), as_of=params.as_of)
    if stale:
        lines.append(f"warning: {stale}")
        say(f"  {lines[-1]}")
    with after_commit(changed, "the snapshot and Parquet export (the next write publishes them)"):
        publish_snapshot(params.db)
    with after_commit([*changed, "the snapshot"], "the run's Prefect artifacts"):
        artifacts.ingest(params.db, run_id)
    if failures:
        raise IngestFailed(
            f"ingest run {run_id}: {len(failures)} series failed:\n  " + "\n  ".join(failures)
        )
    return lines
