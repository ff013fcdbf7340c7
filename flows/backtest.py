"""Backtest and sweep flows: warehouse -> transforms.backtest -> results.* tables.

A sweep is a few Prefect tasks (evaluate the grid, re-run the top configurations with
the reference simulator, write), never one task per configuration: the vectorised
engine runs thousands of configurations inside one task, in chunks. With ``workers`` > 1
the flow runs on a local Dask cluster, with ``cluster`` on a running one (prefect-dask's
task runner), and each chunk is one task on a worker process; the coordinating process
alone writes the warehouse.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from prefect.utilities.annotations import quote
from pydantic import BaseModel, Field, model_validator

from flows import artifacts, settings
from flows.runlog import after_commit, say
from transforms.backtest.frontier import frontier
from transforms.backtest.metrics import MetricParams
from transforms.backtest.params import (
    MAX_CONFIGS,
    BacktestParams,
    Dimension,
    ParamValues,
    as_record,
    expand_grid,
    group_key,
    sweep_dimensions,
    with_values,
)
from transforms.backtest.rows import RunRows, registry_rows, run_rows
from transforms.backtest.run import (
    Backtest,
    Evaluated,
    GroupRun,
    Inputs,
    SweepResult,
    backtest,
    evaluate,
    group_for,
    plan,
    prepare,
    run_id,
    sweep,
    sweep_id,
    top_configs,
    walk_forward_run,
)
from transforms.calibration import CALIBRATED_FIELDS, FITTED, calibration_id
from transforms.selection.pbo import MIN_CONFIGS, pbo, survivors
from transforms.selection.trials import FAMILY_FIELDS, trial_family, trial_stats
from warehouse.db import (
    WRITER_WAIT,
    WarehouseBusy,
    connect_reader,
    has_table,
    publish_snapshot,
    writer,
)
from warehouse.load import read_frame, read_table
from warehouse.results import write_backtest, write_sweep
from warehouse.scratch import SpillCollector, discarding
from warehouse.staging import stage

if TYPE_CHECKING:  # Dask is imported only by a sweep that runs on it (0.3 s of each start)
    from prefect_dask import DaskTaskRunner


class BacktestRequest(BaseModel):
    db: Path = Field(default_factory=settings.db_path)
    values: ParamValues = Field(default_factory=ParamValues)  # parameter overrides
    holdout_start: date = MetricParams.holdout_start


class SweepRequest(BaseModel):
    """A sweep. ``dimensions`` may be given as written in a TOML grid's ``[grid]`` table
    (``{"hedge_ratio": "0:0.4:0.1", "r2_band": ["0.45-0.65"]}``, as from Prefect's UI);
    hedge ratios and bands default to the README's grid."""

    db: Path = Field(default_factory=settings.db_path)
    values: ParamValues = Field(default_factory=ParamValues)  # fixed overrides
    dimensions: list[tuple[list[str], list[list[Any]]]] | dict[str, Any] = Field(
        default_factory=lambda: sweep_dimensions([])
    )

    max_configs: int = Field(default=MAX_CONFIGS, ge=1)  # the grid's bound

    @model_validator(mode="after")
    def _listable(self) -> SweepRequest:
        self.grid  # noqa: B018 (a grid that cannot be listed is refused here, in one line)
        return self

    @property
    def grid(self) -> list[Dimension]:
        """The dimensions listed (a written grid stays compact until here)."""
        if isinstance(self.dimensions, dict):
            return list(sweep_dimensions(list(self.dimensions.items()), limit=self.max_configs))
        return [(names, rows) for names, rows in self.dimensions]

    rank_metric: str = "sharpe"
    top_n: int = Field(default=5, ge=0)
    min_time_in_band: float = Field(default=0.0, ge=0.0, le=1.0)
    chunk: int = Field(default=1000, ge=1)
    workers: int = Field(default=0, ge=0)  # > 1: chunks on a local Dask cluster
    cluster: str | None = None  # a running Dask scheduler's address: chunks on its workers
    holdout_start: date = MetricParams.holdout_start
    walk_forward: bool = False
    train_months: int = Field(default=36, ge=1)
    test_months: int = Field(default=12, ge=1)
    window: Literal["rolling", "expanding"] = "rolling"
    select_metric: Literal["overlay_sharpe", "sharpe"] = "overlay_sharpe"
    pbo_groups: int = Field(default=16, ge=2)
    frontier: bool = False  # the R-squared frontier per band and sizing rule


def has_signals(db: Path) -> bool:
    """Whether the warehouse has signal tables yet (a reader; never blocks on a writer
    for long)."""
    con = connect_reader(db)
    try:
        return bool(read_frame(con, "query/signals_days")["days"][0])
    finally:
        con.close()


class ResultsStaged(RuntimeError):
    """The warehouse stayed busy: the computed results were kept as files instead."""

    def __init__(self, busy: WarehouseBusy, folder: Path, db: Path) -> None:
        super().__init__(
            f"{busy} The results are kept in {folder}; load them with "
            f"`alvh load-staged --db {db}` once it is free."
        )
        self.folder = folder


def _store(db: Path, name: str, write: Callable[[Any], Any], **rows: Any) -> Any:
    """``write(con)`` on a writer connection; if the warehouse stays busy, stage the
    rows (``runs``, and ``sweep`` and ``results`` for a sweep) and raise ResultsStaged."""
    try:
        with writer(db) as con:
            return write(con)
    except WarehouseBusy as busy:
        raise ResultsStaged(busy, stage(db, name, **rows), db) from None


_WARM: dict[str, tuple[Any, ...]] = {}
"""The last inputs read, under the state of their file; the last group prepared and the
last simulation, each under its inputs and key: a command does that work while Prefect's
temporary server starts (:func:`warm`), and its flow finds it here."""


def _file_state(db: Path) -> tuple[object, ...]:
    """What a write to the warehouse changes: its file's and its write-ahead log's
    identity, size and modification time."""
    state: list[object] = [str(db.resolve())]
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            st = path.stat()
        except FileNotFoundError:
            state.append(None)
        else:
            state.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(state)


def read_inputs(db: Path) -> Inputs:
    """The tables a backtest reads (:func:`inputs_from`), read again only when the
    warehouse has changed since the last read."""
    state = _file_state(db)
    held = _WARM.get("inputs")
    if held is not None and held[0] == state:
        inputs: Inputs = held[1]
        return inputs
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        inputs = inputs_from(con, db)
    finally:
        con.close()
    _WARM["inputs"] = (state, inputs)
    return inputs


def _kept(slot: str, inputs: Inputs, key: tuple[object, ...], make: Callable[[], Any]) -> Any:
    """What ``slot`` of :data:`_WARM` holds for these ``inputs`` (the same object) and
    ``key``; else ``make()``, held there instead."""
    held = _WARM.get(slot)
    if held is not None and held[0] is inputs and held[1] == key:
        return held[2]
    value = make()
    _WARM[slot] = (inputs, key, value)
    return value


def prepared(inputs: Inputs, p: BacktestParams, mp: MetricParams) -> GroupRun:
    """``p``'s group prepared (market, condor path, unhedged book, stress h), kept for
    the next call on the same inputs."""
    run: GroupRun = _kept(
        "run", inputs, (group_key(p), mp), lambda: prepare(group_for(inputs.market(p), p), p, mp)
    )
    return run


def simulated(
    inputs: Inputs, p: BacktestParams, mp: MetricParams, run: GroupRun | None = None
) -> Backtest:
    """``p`` through the reference simulator, with its metrics (on its group's prepared
    ``run``, else the one :func:`prepared` keeps), kept for the next call on the same
    inputs."""

    def simulate() -> Backtest:
        group = run if run is not None else prepared(inputs, p, mp)
        return backtest(inputs, p, metric_params=mp, prepared=group)

    result: Backtest = _kept("backtest", inputs, (p, mp), simulate)
    return result


def _known(inputs: Inputs, mp: MetricParams) -> dict[tuple[object, ...], GroupRun]:
    """The group prepared last on ``inputs`` (by its key), for a sweep's plan."""
    held = _WARM.get("run")
    if held is None or held[0] is not inputs or held[1][1] != mp:
        return {}
    return {held[1][0]: held[2]}


def warm(request: BacktestRequest | SweepRequest) -> None:
    """Do now what the flow does first: read the inputs and prepare the group of the
    (first) configuration, kept for the flow (:func:`read_inputs`, :func:`prepared`);
    then a backtest's simulation, kept too (:func:`simulated`), or a sweep's first
    configuration through the engine, which loads its compiled code (and, when it is the
    sweep's only one, through the simulator, as its best). A command calls it
    while Prefect's temporary server starts. What fails here is the flow's to meet
    again and report, so it is not raised."""
    mp = MetricParams(holdout_start=request.holdout_start)
    try:
        base = with_values(BacktestParams(), request.values.given())
        inputs = read_inputs(request.db)
        if isinstance(request, BacktestRequest):
            simulated(inputs, base, mp)
            return
        first = [zip(names, rows[0], strict=True) for names, rows in request.grid]
        base = with_values(base, {n: v for pairs in first for n, v in pairs})
        evaluate(prepared(inputs, base, mp), [base])
        if all(len(rows) == 1 for _, rows in request.grid):  # its own best: re-run at the end
            simulated(inputs, base, mp)
    except Exception:  # reported by the flow, which meets it again
        return


def inputs_from(con: Any, db: Path) -> Inputs:
    """The tables a backtest reads, through an open connection to ``db``."""
    signals = read_table(con, "signals_daily", schema="signals")
    if signals.is_empty():
        raise RuntimeError(f"{db} has no signals: run `alvh run` (or `alvh signals`) first")
    return Inputs(
        signals=signals,
        spx=read_table(con, "spx_daily"),
        vix3m=read_table(con, "vix3m_daily"),
        tbill=read_table(con, "tbill_3m_daily"),
        vx=read_table(con, "vx_futures"),
        calendar=read_table(con, "trading_calendar"),
    )


BACKTEST_STEPS = 3  # read, simulate with metrics, write


@task(name="simulate", cache_policy=NO_CACHE)
def simulate(inputs: Inputs, params: BacktestParams, mp: MetricParams) -> Backtest:
    """The reference simulator and the metrics of one configuration."""
    return simulated(inputs, params, mp)


@task(name="write-backtest", cache_policy=NO_CACHE)
def store_backtest(db: Path, rows: RunRows) -> None:
    _store(db, str(rows.run["run_id"]), lambda con: write_backtest(con, rows), runs=[rows])


@flow(name="backtest")
def backtest_flow(request: BacktestRequest) -> tuple[str, pl.DataFrame]:
    """One configuration: read, simulate, write (one progress step each)."""
    started, progress = datetime.now(), current_progress()

    def step() -> None:
        if progress is not None:
            progress(1)

    params = with_values(BacktestParams(), request.values.given())
    mp = MetricParams(holdout_start=request.holdout_start)
    inputs = read_inputs(request.db)
    step()
    result = simulate(inputs, params, mp)
    step()
    code = settings.code_version()
    rid = run_id(params, code_version=code, snapshot=result.snapshot, metric_params=mp)
    store_backtest(
        request.db,
        run_rows(result, rid=rid, code=code, started=started, finished=datetime.now(), sweep=None),
    )
    step()
    with after_commit([f"backtest run {rid}"], "the snapshot and the run's artifact"):
        publish_snapshot(request.db)
        artifacts.table(
            "backtest-metrics",
            result.metrics.unpivot(variable_name="metric", value_name="value"),
            f"backtest {rid}: every metric (definitions in transforms/backtest/metrics.py)",
        )
    return rid, result.metrics


Progress = Callable[[int], None]
_PROGRESS: list[Progress] = []
"""The progress callback of the running flow. Not a flow parameter, and read only
through :func:`current_progress`: Prefect ships the flow (by value, with the globals its
code names) to Dask workers, and a terminal progress bar holds locks."""


def current_progress() -> Progress | None:
    return _PROGRESS[-1] if _PROGRESS else None


@contextmanager
def reporting(progress: Progress) -> Iterator[None]:
    """Send the running flow's progress (configurations or steps finished) to
    ``progress`` meanwhile."""
    _PROGRESS.append(progress)
    try:
        yield
    finally:
        _PROGRESS.remove(progress)


@task(name="evaluate-grid", cache_policy=NO_CACHE)
def evaluate_grid(
    inputs: Inputs,
    configs: list[BacktestParams],
    mp: MetricParams,
    chunk: int,
    progress: Progress | None,
) -> SweepResult:
    """The whole grid in this process, chunk after chunk."""
    return sweep(
        inputs, configs, collect=SpillCollector, metric_params=mp, chunk=chunk,
        progress=progress, known=_known(inputs, mp),
    )  # fmt: skip


@task(name="evaluate-chunk", cache_policy=NO_CACHE)
def evaluate_chunk(run: GroupRun, configs: Chunk) -> Evaluated:
    """One chunk on a Dask worker."""
    return evaluate(run, configs.configs)


class Chunk:
    """A chunk's configurations as one task parameter Prefect does not walk field by
    field (``quote`` does that in process, but Dask rebuilds it as a plain tuple)."""

    def __init__(self, configs: list[BacktestParams]) -> None:
        self.configs = configs


LOST_CHUNK_RETRIES = 3
"""How often a chunk Dask cancelled (say, its group's scattered copy went with a killed
worker) is sent again, before the sweep fails; the group is scattered anew only when its
copy is gone."""


def _evaluate_on_workers(
    inputs: Inputs,
    configs: list[BacktestParams],
    mp: MetricParams,
    chunk: int,
    progress: Progress | None,
) -> SweepResult:
    """Chunks as Prefect tasks on the flow's Dask task runner. Each group's prepared run
    (market, condor path: tens of MB) is scattered to every worker once, not shipped
    with each chunk; a chunk lost with its worker is run again by Dask elsewhere, one
    Dask cancelled is sent again (:data:`LOST_CHUNK_RETRIES`), and only its one result
    is kept."""
    from distributed.client import FutureCancelledError

    work = plan(inputs, configs, chunk=chunk, metric_params=mp, known=_known(inputs, mp))
    runner = FlowRunContext.get().task_runner  # type: ignore[union-attr]
    assert _on_dask()  # sweep_flow makes sure of it
    shipped: dict[int, Any] = {}

    def submit(run: GroupRun, members: list[int]) -> Any:
        scattered = shipped.get(id(run))
        if scattered is None or scattered.status != "finished":  # not yet, or lost since
            shipped[id(run)] = runner.client.scatter(run, broadcast=True, hash=False)
        return evaluate_chunk.submit(shipped[id(run)], Chunk([configs[k] for k in members]))

    pending = {submit(run, members): (run, members, 0) for run, members in work.chunks}
    collected = SpillCollector(work)
    try:
        while pending:
            for future in as_completed(list(pending)):
                run, members, tries = pending.pop(future)
                try:
                    part = future.result()
                except FutureCancelledError as exc:
                    if tries >= LOST_CHUNK_RETRIES:
                        raise
                    say(f"  {len(members)} configurations cancelled by Dask ({exc}): sent again")
                    pending[submit(run, members)] = (run, members, tries + 1)
                    continue
                collected.add(part, members)
                if progress is not None:
                    progress(len(members))
    except BaseException:
        collected.discard()
        raise
    return collected.result()


def dask_runner(workers: int = 0, address: str | None = None) -> DaskTaskRunner:
    """The running Dask cluster at ``address``, or else a local cluster of ``workers``
    single-threaded processes (numba's threads stay inside each process); the
    scheduler's chatter is kept to warnings."""
    from prefect_dask import DaskTaskRunner

    for name in ("distributed", "distributed.scheduler", "distributed.nanny"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def _on_dask() -> bool:
    """Whether the running flow's task runner is Dask's (never, before Dask is imported)."""
    if "prefect_dask" not in sys.modules:
        return False
    from prefect_dask import DaskTaskRunner

    return isinstance(FlowRunContext.get().task_runner, DaskTaskRunner)  # type: ignore[union-attr]


class ClusterUnreachable(RuntimeError):
    """The Dask scheduler of ``--cluster`` cannot be used (one line, for the CLI)."""


CLUSTER_TIMEOUT = 10.0  # seconds to reach a Dask scheduler before giving up


def check_cluster(address: str, *, timeout: float = CLUSTER_TIMEOUT) -> str:
    """Connect to the Dask scheduler at ``address`` once, within ``timeout`` seconds;
    checks it has workers running this code version. Returns a one-line description;
    raises :class:`ClusterUnreachable` otherwise."""
    from distributed import Client
    from distributed.comm.addressing import get_address_host_port

    try:
        get_address_host_port(address)
    except ValueError as exc:
        raise ClusterUnreachable(
            f"{address!r} is not a Dask scheduler address (tcp://HOST:PORT): {exc}"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterUnreachable(
            f"cannot reach the Dask scheduler at {address} within {timeout:g} s: {reason}"
        ) from None
    try:
        versions = client.run(settings.code_version)
    finally:
        client.close()
    if not versions:
        raise ClusterUnreachable(f"the Dask scheduler at {address} has no workers")
    ours = settings.code_version()
    other = sorted(w for w, v in versions.items() if v != ours)
    if other:
        raise ClusterUnreachable(
            f"{len(other)} worker(s) at {address} run other alvh code than this process "
            f"({ours}), e.g. {other[0]}: install the same commit on every worker"
        )
    return f"Dask cluster at {address}: {len(versions)} workers, code {ours}"


@task(name="rerun-top", cache_policy=NO_CACHE)
def rerun_top(
    *,
    inputs: Inputs,
    chosen: list[BacktestParams],
    runs: dict[tuple[object, ...], GroupRun],
    mp: MetricParams,
    code: str,
    started: datetime,
    sid: str,
) -> list[RunRows]:
    """The top configurations through the reference simulator: daily rows and trades,
    on their groups' prepared runs (market, condor path, stress h: not rebuilt)."""
    out = []
    for p in chosen:
        one = simulated(inputs, p, mp, runs[group_key(p)])
        rid = run_id(p, code_version=code, snapshot=one.snapshot, metric_params=mp)
        out.append(
            run_rows(one, rid=rid, code=code, started=started, finished=datetime.now(), sweep=sid)
        )
    return out


@task(name="write-sweep", cache_policy=NO_CACHE)
def store_sweep(
    db: Path,
    record: dict[str, Any],
    results: pl.LazyFrame,
    top: list[RunRows],
    extra: dict[str, pl.DataFrame],
) -> tuple[int, int, int]:
    counts: tuple[int, int, int] = _store(
        db,
        str(record["sweep_id"]),
        lambda con: write_sweep(con, sweep=record, results=results, top=top, extra=extra),
        runs=top,
        sweep=record,
        results=results,
        extra=extra,
    )
    return counts


TRIAL_COLUMNS = (
    "config_hash", "returns_hash", "ruined", "time_in_band", "sharpe", "overlay_sharpe",
    "skewness", "kurtosis", "overlay_skewness", "overlay_kurtosis",
)  # fmt: skip


@dataclass(frozen=True)
class Selection:
    record: dict[str, Any]  # results.sweep_runs columns
    tables: dict[str, pl.DataFrame]  # walk_forward, walk_forward_daily (without sweep_id)
    book_dsr: float | None  # the deflated Sharpe of the best by the book's Sharpe


def _registry(db: Path, snapshot: str, sid: str) -> pl.DataFrame:
    """Earlier trials on ``snapshot`` (none in a warehouse not yet migrated to hold them:
    a reader does not migrate; this sweep's write will)."""
    con = connect_reader(db, wait_seconds=WRITER_WAIT.seconds)
    try:
        if not has_table(con, "results", "trials"):
            return pl.DataFrame(
                schema={"returns_hash": pl.String, "family": pl.String, "sharpe": pl.Float64,
                        "overlay_sharpe": pl.Float64, "ruined": pl.Boolean}
            )  # fmt: skip
        return read_frame(con, "query/trials_on_snapshot", {"snapshot": snapshot, "source_id": sid})
    finally:
        con.close()


_FAMILY_KEY = (*FAMILY_FIELDS, *CALIBRATED_FIELDS)


def families(configs: list[BacktestParams], snapshot: str) -> list[str]:
    """Each configuration's trial family (computed once per distinct set of the values
    that decide it)."""
    known: dict[tuple[object, ...], str] = {}
    out = []
    for c in configs:
        key = tuple(getattr(c, f) for f in _FAMILY_KEY)
        if key not in known:
            known[key] = trial_family(as_record(c), snapshot)
        out.append(known[key])
    return out


@task(name="selection-statistics", cache_policy=NO_CACHE)
def select(
    request: SweepRequest,
    evaluated: SweepResult,
    configs: list[BacktestParams],
    *,
    mp: MetricParams,
    snapshot: str,
    sid: str,
    family: list[str],
) -> Selection:
    """Trials, deflated Sharpe ratios (within the best's family), PBO among all and
    among the configurations never ruined, the ruin rate and (if asked) the
    walk-forward."""
    rows = evaluated.frame(*TRIAL_COLUMNS).with_columns(pl.Series("family", family))
    b = evaluated.blocks
    registry = _registry(request.db, snapshot, sid)
    overlay = trial_stats(rows, b, registry, min_time_in_band=request.min_time_in_band)
    book = trial_stats(
        rows, b, registry, min_time_in_band=request.min_time_in_band, metric="sharpe"
    )
    record: dict[str, Any] = asdict(overlay)
    record["ruin_rate"] = float(rows["ruined"].mean()) if rows.height else None  # type: ignore[arg-type]
    notes = []
    if b is None:
        notes.append("no PBO or walk-forward: the configurations span several markets")
    elif len(configs) < MIN_CONFIGS:
        notes.append(
            f"no PBO: it needs at least {MIN_CONFIGS} configurations, the sweep has {len(configs)}"
        )
    elif len(b.months) < 2 * request.pbo_groups:
        notes.append(f"no PBO: {request.pbo_groups} groups need {2 * request.pbo_groups} months")
    else:
        overlay_metric = request.select_metric == "overlay_sharpe"
        result = pbo(b, groups=request.pbo_groups, overlay=overlay_metric)
        record.update(pbo=result.pbo, pbo_splits=result.splits, pbo_degradation=result.degradation)
        alive = survivors(b)
        record["pbo_survivor_configs"] = len(alive)
        if len(alive) == b.configs:  # none ruined: the same configurations, the same PBO
            record["pbo_survivors"] = result.pbo
        elif len(alive) >= MIN_CONFIGS:
            among = pbo(b, groups=request.pbo_groups, overlay=overlay_metric, rows=alive)
            record["pbo_survivors"] = among.pbo
        else:
            notes.append(
                f"no PBO among survivors: {len(alive)} configurations were never ruined, "
                f"it needs {MIN_CONFIGS}"
            )
    tables: dict[str, pl.DataFrame] = {}
    if request.walk_forward:
        wf = walk_forward_run(
            evaluated,
            configs,
            train=request.train_months,
            test=request.test_months,
            mode=request.window,
            metric=request.select_metric,
            min_time_in_band=request.min_time_in_band,
            metric_params=mp,
            calibrated_until=FITTED.last_fitted,
        )
        tables = {"walk_forward": wf.folds, "walk_forward_daily": wf.daily}
        record["walk_forward"] = json.dumps(
            {
                "train_months": request.train_months,
                "test_months": request.test_months,
                "window": request.window,
                "select_metric": request.select_metric,
                "min_time_in_band": request.min_time_in_band,
            }
        )
        record.update(wf.headline)
    record["selection_note"] = "; ".join(notes) or None
    return Selection(record, tables, book.overlay_deflated_sharpe)


@task(name="r2-frontier", cache_policy=NO_CACHE)
def r2_frontier(
    inputs: Inputs, configs: list[BacktestParams], rows: pl.DataFrame, mp: MetricParams
) -> pl.DataFrame:
    """The R-squared frontier (transforms.backtest.frontier): the best configuration per
    band and sizing rule before the hold-out, re-run and measured after it."""
    spx = inputs.spx.sort("date").select(
        "date", (pl.col("close") / pl.col("close").shift() - 1.0).alias("spx_return")
    )

    def run(p: BacktestParams) -> pl.DataFrame:
        daily = backtest(inputs, p, metric_params=mp).daily
        return daily.join(spx, on="date", how="left")

    return frontier(rows, configs, run, holdout=mp.holdout_start)


@flow(name="sweep")
def sweep_flow(request: SweepRequest) -> dict[str, Any]:
    """Run every configuration of the grid; write sweep_runs, sweep_results and the
    daily rows of the top ``top_n`` configurations by ``rank_metric``. Progress goes to
    the callback installed by :func:`reporting`. With ``workers`` > 1 or ``cluster``
    (as from a deployment's run form) and no Dask task runner, the same flow runs as a
    subflow on one."""
    if (request.workers > 1 or request.cluster) and not _on_dask():
        runner = dask_runner(request.workers, request.cluster)
        out: dict[str, Any] = sweep_flow.with_options(task_runner=runner)(request)
        return out
    progress = current_progress()
    started, clock = datetime.now(), time.perf_counter()
    base = with_values(BacktestParams(), request.values.given())
    dims = request.grid
    configs = expand_grid(base, dims, limit=request.max_configs)
    mp = MetricParams(holdout_start=request.holdout_start)
    inputs = read_inputs(request.db)
    engine_clock = time.perf_counter()
    if request.workers > 1 or request.cluster:
        evaluated = _evaluate_on_workers(inputs, configs, mp, request.chunk, progress)
    else:
        evaluated = evaluate_grid(quote(inputs), quote(configs), mp, request.chunk, progress)
    with discarding(evaluated):  # its scratch files go when the flow ends, however
        engine_seconds = time.perf_counter() - engine_clock
        results = evaluated.rows
        code = settings.code_version()
        snapshot = "+".join(evaluated.snapshots[k] for k in sorted(evaluated.snapshots))
        # the grid as written is recorded; its listed values are its identity (a range and
        # the list it spells are one sweep)
        grid = {"base": as_record(base), "dimensions": request.dimensions}
        listed = {"base": grid["base"], "dimensions": [(list(n), rows) for n, rows in dims]}
        # the selection settings are part of the sweep's identity (they change its record)
        selection_settings = request.model_dump(
            include={"rank_metric", "top_n", "min_time_in_band", "walk_forward", "train_months",
                     "test_months", "window", "select_metric", "pbo_groups", "frontier"}
        )  # fmt: skip
        sid = sweep_id(
            {**listed, "selection": selection_settings},
            code_version=code,
            snapshot=snapshot,
            metric_params=mp,
        )
        best = top_configs(
            results,
            metric=request.rank_metric,
            n=request.top_n,
            min_time_in_band=request.min_time_in_band,
        )
        keys = evaluated.frame(
            "config_hash", "returns_hash", "sharpe", "overlay_sharpe", "ruined", "ruin_date"
        )
        position = {h: k for k, h in enumerate(keys["config_hash"].to_list())}  # input order
        chosen = [configs[position[h]] for h in best["config_hash"].to_list()]
        top_rows = rerun_top(
            inputs=quote(inputs),
            chosen=chosen,
            runs=quote(evaluated.runs),
            mp=mp,
            code=code,
            started=started,
            sid=sid,
        )
        first = best.row(0, named=True) if best.height else None
        family = families(configs, snapshot)
        selection = select(
            request,
            quote(evaluated),
            quote(configs),
            mp=mp,
            snapshot=snapshot,
            sid=sid,
            family=family,
        )
        extra = {
            "trials": registry_rows(
                keys,
                snapshot=snapshot,
                code=code,
                source="sweep",
                source_id=sid,
                at=datetime.now(),
                families=family,
            ),
            **{
                k: v.with_columns(pl.lit(sid).alias("sweep_id"))
                for k, v in selection.tables.items()
            },
        }
        if request.frontier:
            rows = evaluated.frame("config_hash", "ruined", "time_in_band_in_sample")
            extra["frontier"] = r2_frontier(quote(inputs), quote(configs), rows, mp).with_columns(
                pl.lit(sid).alias("sweep_id")
            )
        seconds = time.perf_counter() - clock
        record = {
            "sweep_id": sid,
            "grid": json.dumps(grid, sort_keys=True, default=str),
            "configurations": len(configs),
            "groups": len({group_key(c) for c in configs}),
            "code_version": code,
            "data_snapshot": snapshot,
            "holdout_start": request.holdout_start,
            "rank_metric": request.rank_metric,
            "top_n": request.top_n,
            "best_config_hash": first["config_hash"] if first else None,
            "best_value": float(first[request.rank_metric]) if first else None,
            "deflated_sharpe": selection.book_dsr if request.rank_metric == "sharpe" else None,
            "calibration_id": calibration_id(as_record(base)),
            **selection.record,
            "seconds": seconds,
            "engine_seconds": engine_seconds,
            "status": "succeeded",
            "started_at": started,
            "finished_at": datetime.now(),
            "error": None,
        }
        counts = store_sweep(
            request.db, record, results.with_columns(pl.lit(sid).alias("sweep_id")), top_rows, extra
        )
        ruined = int(keys["ruined"].sum())
        with after_commit([f"sweep {sid}"], "the snapshot and the sweep's artifact"):
            publish_snapshot(request.db)
            if best.height:
                artifacts.table(
                    "sweep-top",
                    best,
                    f"sweep {sid}: the best {best.height} of {len(configs)} configurations by "
                    f"{request.rank_metric}",
                )
            else:
                artifacts.note(
                    "sweep-top",
                    f"sweep {sid}: no configuration to rank. {ruined} of {len(configs)} were "
                    "ruined"
                    + (f" (the first on {keys['ruin_date'].min()})" if ruined else "")
                    + f"; none of the rest spent {request.min_time_in_band:.0%} of its days "
                    "inside its band.",
                )
        return {
            "first_ruin": keys["ruin_date"].min(),
            "sweep_id": sid,
            "counts": counts,
            "best": best,
            "record": record,
            "ruined": ruined,
            "walk_forward": selection.tables.get("walk_forward"),
            "frontier": extra.get("frontier"),
        }
