"""Backtests and sweeps end to end (pure: frames in, frames out).

* :func:`backtest` runs one configuration through the reference simulator and returns
  its daily rows, trades and metrics.
* :func:`sweep` groups configurations by their path fields, simulates each group's
  condor once, runs the vectorised engine in chunks and returns one metrics row per
  configuration (parameters as columns, a configuration hash).
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Protocol

import numpy as np
import polars as pl
from numpy.typing import NDArray

from transforms.backtest.book import Group
from transforms.backtest.condor import Trade, simulate_condor
from transforms.backtest.market import Market, build_market
from transforms.backtest.metric_registry import METRICS
from transforms.backtest.metrics import (
    DEFAULT_METRICS,
    MetricParams,
    Observed,
    Sessions,
    empty,
    finish,
    flat_sessions,
    replay,
    sessions,
)
from transforms.backtest.params import (
    NAMES,
    BacktestParams,
    config_hash,
    config_hashes,
    group_key,
)
from transforms.backtest.reference import run_reference
from transforms.backtest.stress import stress_hedge_ratio
from transforms.backtest.vectorised import Paths, market_1d, run_chunk
from transforms.selection.blocks import FIELDS, Blocks, time_in_band
from transforms.selection.blocks import sharpe as block_sharpe
from transforms.selection.digest import hex_digests
from transforms.selection.walk_forward import Choice, Mode, headline, stitch, walk_forward

MARKET_FIELDS = ("start_date", "end_date", "beta_window", "beta_fallback")


@dataclass(frozen=True)
class Inputs:
    """Warehouse tables a backtest reads (columns as stored)."""

    signals: pl.DataFrame
    spx: pl.DataFrame
    vix3m: pl.DataFrame
    tbill: pl.DataFrame
    vx: pl.DataFrame
    calendar: pl.DataFrame

    def market(self, p: BacktestParams) -> Market:
        return build_market(
            signals=self.signals,
            spx=self.spx,
            vix3m=self.vix3m,
            tbill=self.tbill,
            vx=self.vx,
            calendar=self.calendar,
            start=p.start_date,
            end=p.end_date,
            beta_window=p.beta_window,
            beta_fallback=p.beta_fallback,
        )


def group_for(market: Market, p: BacktestParams) -> Group:
    return Group.build(
        market, simulate_condor(market, p), roll_days=p.roll_days, div_yield=p.div_yield
    )


def _unhedged(group: Group, p: BacktestParams) -> Paths:
    return run_chunk(group, [replace(p, hedge_ratio=0.0, controller=False)])


def _stress(group: Group, p: BacktestParams) -> float:
    return stress_hedge_ratio(group, p).hedge_ratio_median


def _replay(s: Sessions, paths: Paths, configs: Sequence[BacktestParams]) -> tuple[Observed, Any]:
    """The metrics' observations over kept daily paths, and each session's (excess,
    overlay, rolling R^2, rolling beta): 4 x configurations x sessions."""
    daily = (paths.equity, paths.pnl_equity, paths.pnl_condor, paths.pnl_futures,
             paths.pnl_calls, paths.hedge_ratio)  # fmt: skip
    low, high = _column(configs, "band_low"), _column(configs, "band_high")
    return replay(s, daily, _column(configs, "initial_equity"), low, high, daily=True)


def _column(configs: Sequence[BacktestParams], name: str) -> np.ndarray:
    return np.array([float(getattr(c, name)) for c in configs])


def _metrics(
    run: GroupRun, configs: Sequence[BacktestParams], paths: Paths, observed: Observed
) -> dict[str, np.ndarray]:
    return finish(
        observed,
        run.sessions,
        initial=_column(configs, "initial_equity"),
        costs=paths.costs,
        contracts=paths.contracts_traded,
        cuts=paths.cuts,
        unhedged=run.unhedged,
        stress_hedge_ratio=run.stress,
    )


def _rows(
    configs: Sequence[BacktestParams],
    metrics: dict[str, np.ndarray],
    hashes: list[str],
    ruin: tuple[Market, np.ndarray],
) -> pl.DataFrame:
    """One row per configuration: its hash, parameters and metrics; ``ruined`` a bool
    and ``ruin_date`` the session equity reached zero (null for a book that lived),
    from ``ruin``: the market and each configuration's ruin session (-1: none)."""
    types = {"start_date": pl.Date, "end_date": pl.Date}
    market, day = ruin
    dates = pl.Series("ruin_date", market.dates.astype("datetime64[D]")).cast(pl.Date)
    return pl.DataFrame(
        {
            "config_hash": config_hashes(configs),
            "returns_hash": hashes,
            **{
                name: pl.Series(
                    name, list(map(operator.attrgetter(name), configs)), dtype=types.get(name)
                )
                for name in NAMES
            },
            **{name: metrics[name].astype(np.float64) for name in METRICS},
        }
    ).with_columns(
        pl.Series("ruined", day >= 0),
        dates.gather(np.maximum(day, 0)).alias("ruin_date").set(pl.Series(day < 0), None),
    )


@dataclass(frozen=True)
class Backtest:
    params: BacktestParams
    snapshot: str
    daily: pl.DataFrame  # one row per session (backtest_daily columns, without run_id)
    trades: pl.DataFrame  # every trade and event (backtest_trades columns, without run_id)
    metrics: pl.DataFrame  # one row: config_hash, parameters, metrics
    condor_trades: list[Trade]  # the condor sleeve's opens, closes and settlements


def backtest(
    inputs: Inputs,
    p: BacktestParams,
    *,
    metric_params: MetricParams = DEFAULT_METRICS,
    market: Market | None = None,
    prepared: GroupRun | None = None,
) -> Backtest:
    """One configuration through the reference simulator, with its metrics. A sweep's
    top configurations pass their group's ``prepared`` run (market, condor path,
    unhedged path, stress h), which is then not rebuilt."""
    if prepared is None:
        group = group_for(inputs.market(p) if market is None else market, p)
        prepared = prepare(group, p, metric_params)
    group = prepared.group
    market = group.market
    result = run_reference(group, p)
    d = result.daily

    def row(name: str) -> np.ndarray:
        return d[name].to_numpy()[None, :]

    paths = Paths(
        equity=row("equity"),
        pnl_equity=row("pnl_equity"),
        pnl_condor=row("pnl_condor"),
        pnl_futures=row("pnl_futures"),
        pnl_calls=row("pnl_calls"),
        hedge_ratio=row("hedge_ratio"),
        costs=np.array([float(result.trades.filter(pl.col("sleeve") != "condor")["cost"].sum())]),
        contracts_traded=np.array([_hedge_contracts(result.trades, p)]),
        cuts=np.array([int(d["liquidity_cut"].sum())]),
        ruin_day=np.array(
            [int(np.argmax(d["equity"].to_numpy() <= 0)) if (d["equity"] <= 0).any() else -1]
        ),
        observed=empty(1, prepared.sessions),
    )
    observed, series = _replay(prepared.sessions, paths, [p])
    metrics = _metrics(prepared, [p], paths, observed)
    daily = d.drop("day").with_columns(
        pl.Series("r2_60", series[2, 0]),
        pl.Series("beta_60", series[3, 0]),
        pl.Series("unhedged_r2_60", prepared.sessions.base_r2),
    )
    dates = pl.Series("date", market.dates.astype("datetime64[D]")).cast(pl.Date)
    trades = result.trades.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int32).alias("seq"),
        dates.gather(result.trades["day"]).alias("date"),
    ).drop("day")
    rows = _rows([p], metrics, hex_digests(observed.hashes), (market, paths.ruin_day))
    last = result.daily["day"][-1]
    condor = [t for t in group.condor.trades if t.day <= last]
    return Backtest(p, market.snapshot, daily, trades, rows, condor)


def _hedge_contracts(trades: pl.DataFrame, p: BacktestParams) -> float:
    legs = 2.0 if p.call_spread_width > 0 else 1.0
    hedge = trades.filter(
        pl.col("sleeve").is_in(["futures", "calls"])
        & pl.col("action").is_in(["open", "resize", "roll_in", "roll_out", "close"])
    )
    weight = pl.when(pl.col("sleeve") == "calls").then(legs).otherwise(1.0)
    return float(hedge.select((pl.col("quantity").abs() * weight).sum()).item())


def _digest(*parts: object) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_id(
    p: BacktestParams, *, code_version: str, snapshot: str, metric_params: MetricParams
) -> str:
    """Identity of a run: same parameters, code and data give the same id."""
    return "bt-" + _digest(config_hash(p), code_version, snapshot, asdict(metric_params))


def sweep_id(grid: object, *, code_version: str, snapshot: str, metric_params: MetricParams) -> str:
    return "sw-" + _digest(grid, code_version, snapshot, asdict(metric_params))


def top_configs(
    results: pl.DataFrame | pl.LazyFrame, *, metric: str, n: int, min_time_in_band: float = 0.0
) -> pl.DataFrame:
    """The ``n`` best rows by ``metric`` (descending; NaN last; ties by configuration
    hash) among configurations that were never ruined and spent at least
    ``min_time_in_band`` of their days inside their R^2 band. A ruined book (equity
    reached zero) is never the best, whatever its metrics say about the sessions before
    its ruin."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    eligible = results.lazy().filter(
        ~pl.col("ruined") & (pl.col("time_in_band").fill_nan(0.0) >= min_time_in_band)
    )
    return (
        eligible.with_columns(pl.col(metric).fill_nan(None))
        .sort([metric, "config_hash"], descending=[True, False], nulls_last=True)
        .head(n)
        .collect()
    )


Progress = Callable[[int], None]


@dataclass(frozen=True)
class GroupRun:
    """What every chunk of one group needs: the group, the metrics' per-session inputs
    (with the unhedged book's rolling R^2), the unhedged book's observations and the
    group's stress-calibrated h."""

    group: Group
    sessions: Sessions
    unhedged: Observed
    stress: float


def prepare(group: Group, p: BacktestParams, mp: MetricParams) -> GroupRun:
    """The shared work of ``p``'s group: the unhedged book and the stress calibration."""
    unhedged = _unhedged(group, p)
    m = market_1d(group)
    observed, series = _replay(sessions(m, mp), unhedged, [p])
    return GroupRun(group, sessions(m, mp, base_r2=series[2, 0]), observed, _stress(group, p))


@dataclass(frozen=True)
class Plan:
    """A sweep cut into chunks: (group run, configuration indices) in evaluation order."""

    chunks: list[tuple[GroupRun, list[int]]]
    snapshots: dict[str, str]  # data snapshot of each market used, by market label
    members: Sequence[BacktestParams]

    def configs(self) -> list[tuple[GroupRun, list[BacktestParams]]]:
        return [(run, [self.members[k] for k in ks]) for run, ks in self.chunks]


def plan(
    inputs: Inputs,
    configs: Sequence[BacktestParams],
    *,
    chunk: int = 1000,
    metric_params: MetricParams = DEFAULT_METRICS,
    known: Mapping[tuple[object, ...], GroupRun] | None = None,
) -> Plan:
    """Group the configurations, build each group's market, condor path, unhedged path
    and stress calibration once (unless ``known`` holds the group's run, prepared on
    these inputs with these metric settings), and cut the groups into chunks of at most
    ``chunk``."""
    groups: dict[tuple[object, ...], list[int]] = {}
    for k, c in enumerate(configs):
        groups.setdefault(group_key(c), []).append(k)
    markets: dict[tuple[object, ...], Market] = {}
    snapshots: dict[str, str] = {}
    chunks: list[tuple[GroupRun, list[int]]] = []
    for gk, members in groups.items():
        first = configs[members[0]]
        key = tuple(getattr(first, f) for f in MARKET_FIELDS)
        run = (known or {}).get(gk)
        if key not in markets:
            markets[key] = run.group.market if run is not None else inputs.market(first)
            snapshots[_market_label(first)] = markets[key].snapshot
        if run is None:
            run = prepare(group_for(markets[key], first), first, metric_params)
        chunks += [(run, members[lo : lo + chunk]) for lo in range(0, len(members), chunk)]
    return Plan(chunks, snapshots, configs)


@dataclass(frozen=True)
class Evaluated:
    """One chunk's metrics rows and its monthly sums for the selection statistics."""

    rows: pl.DataFrame
    blocks: Blocks


def evaluate(run: GroupRun, configs: Sequence[BacktestParams]) -> Evaluated:
    """One chunk: the vectorised engine, its metrics observing each session as it
    closes, then one metrics row per configuration and the monthly sums."""
    s = run.sessions
    paths = run_chunk(run.group, configs, s, keep=False)
    o = paths.observed
    ruin = paths.ruin_day
    month = s.month
    sums = Blocks(
        s.months,
        {name: np.ascontiguousarray(o.blocks[:, :, j]) for j, name in enumerate(FIELDS)},
        np.where(ruin >= 0, month[np.maximum(ruin, 1)], len(s.months)).astype(np.intp),
    )
    rows = _rows(configs, _metrics(run, configs, paths, o), hex_digests(o.hashes),
                 (run.group.market, ruin))  # fmt: skip
    return Evaluated(rows, sums)


@dataclass(frozen=True)
class SweepResult:
    """A sweep's outcome. ``rows``: one metrics row per configuration, read lazily from
    the chunks' spill files (in the order chunks finished; :meth:`frame` gives columns
    in the configurations' input order)."""

    rows: pl.LazyFrame
    order: NDArray[np.intp]  # input position of each row of ``rows``
    blocks: Blocks | None  # None when the configurations span several markets
    snapshots: dict[str, str]  # data snapshot of each market used, by market label
    runs: dict[tuple[object, ...], GroupRun]  # each group's prepared run, by group key
    keep: object = field(default=None, repr=False, compare=False)  # what holds its files

    def frame(self, *columns: str) -> pl.DataFrame:
        """``columns`` (every column if none) of every row, in input order."""
        rows = self.rows.select(columns) if columns else self.rows
        return rows.collect().select(pl.all().gather(np.argsort(self.order)))


class Collector(Protocol):
    """Where a sweep's chunk results go as they arrive, so that the memory a sweep
    holds can grow with its chunk, not its grid. The flows give one that spills them to
    scratch files (:class:`warehouse.scratch.SpillCollector`)."""

    def add(self, part: Evaluated, members: Sequence[int]) -> None:
        """Keep one chunk's rows and sums, ``members`` its configurations' positions."""

    def result(self) -> SweepResult:
        """Every chunk kept so far."""

    def discard(self) -> None:
        """Drop every chunk kept (the sweep failed or was interrupted)."""


def sweep(
    inputs: Inputs,
    configs: Sequence[BacktestParams],
    *,
    collect: Callable[[Plan], Collector],
    metric_params: MetricParams = DEFAULT_METRICS,
    chunk: int = 1000,
    progress: Progress | None = None,
    known: Mapping[tuple[object, ...], GroupRun] | None = None,
) -> SweepResult:
    """Metrics for every configuration (rows in input order), chunk after chunk in this
    process, their monthly sums, and the data snapshot of each market used; ``collect``
    makes what keeps the chunks' results."""
    work = plan(inputs, configs, chunk=chunk, metric_params=metric_params, known=known)
    collected = collect(work)
    try:
        for run, members in work.chunks:
            collected.add(evaluate(run, [configs[k] for k in members]), members)
            if progress is not None:
                progress(len(members))
    except BaseException:
        collected.discard()
        raise
    return collected.result()


def _market_label(p: BacktestParams) -> str:
    end = p.end_date.isoformat() if isinstance(p.end_date, date) else "last"
    return f"{p.start_date.isoformat()}..{end} beta {p.beta_window}/{p.beta_fallback:g}"


def selection_daily(
    run: GroupRun, configs: Sequence[BacktestParams], *, metric_params: MetricParams
) -> list[dict[str, np.ndarray]]:
    """Per configuration, the daily series (sessions 1..) a walk-forward stitches:
    ``excess``, ``overlay``, ``return``, ``in_band``, ``has_r2``, ``condor``, ``hedge``
    (futures + calls P&L), ``equity`` (the previous close) and ``flat`` (the session
    counts for the hedge's flat-market drag)."""
    paths = run_chunk(run.group, configs, run.sessions)
    _, series = _replay(run.sessions, paths, configs)
    excess, overlay, r2 = series[0, :, 1:], series[1, :, 1:], series[2, :, 1:]
    low, high = _column(configs, "band_low"), _column(configs, "band_high")
    flat = flat_sessions(run.group.market.spx, metric_params)
    initial = _column(configs, "initial_equity")
    previous = np.concatenate([initial[:, None], paths.equity[:, :-1]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = paths.equity / previous - 1.0
        in_band = (r2 >= low[:, None]) & (r2 <= high[:, None])
    return [
        {
            "excess": excess[k],
            "overlay": overlay[k],
            "return": ret[k, 1:],
            "in_band": in_band[k],
            "has_r2": ~np.isnan(r2[k]),
            "condor": paths.pnl_condor[k, 1:],
            "hedge": paths.pnl_futures[k, 1:] + paths.pnl_calls[k, 1:],
            "equity": previous[k, 1:],
            "flat": flat[1:],
        }
        for k in range(len(configs))
    ]


@dataclass(frozen=True)
class WalkForward:
    folds: pl.DataFrame  # results.walk_forward columns, without sweep_id
    daily: pl.DataFrame  # results.walk_forward_daily columns, without sweep_id
    headline: dict[str, float]  # out-of-sample figures of the stitched series


def walk_forward_run(
    result: SweepResult,
    configs: Sequence[BacktestParams],
    *,
    train: int,
    test: int,
    mode: Mode,
    metric: str,
    min_time_in_band: float,
    metric_params: MetricParams,
    calibrated_until: date,
) -> WalkForward:
    """Walk-forward selection over a sweep's monthly sums, the chosen configurations
    re-run for their daily series, and the stitched out-of-sample figures."""
    if result.blocks is None:
        raise ValueError(
            "walk-forward needs every configuration on one market (one start and end date "
            "and beta settings); this sweep spans " + ", ".join(sorted(result.snapshots))
        )
    b = result.blocks
    choices = walk_forward(
        b, train=train, test=test, mode=mode, metric=metric, min_time_in_band=min_time_in_band
    )
    chosen = sorted({c.config for c in choices if c.config >= 0})
    daily: dict[int, dict[str, np.ndarray]] = {}
    by_group: dict[tuple[object, ...], list[int]] = {}
    for k in chosen:
        by_group.setdefault(group_key(configs[k]), []).append(k)
    for key, ks in by_group.items():
        for k, series in zip(
            ks,
            selection_daily(
                result.runs[key], [configs[k] for k in ks], metric_params=metric_params
            ),
            strict=True,
        ):
            daily[k] = series
    run = next(iter(result.runs.values()))
    dates = run.group.market.dates[1:]
    hashes = result.frame("config_hash")["config_hash"].to_list()
    stitched = stitch(dates, b.months, choices, daily, hashes)
    flat = (
        np.concatenate(
            [
                daily[c.config]["flat"][_test_sessions(dates, b.months, c)]
                for c in choices
                if c.config >= 0
            ]
        )
        if chosen
        else None
    )
    months = b.months.astype("datetime64[D]")
    end_of = [_month_end(m) for m in months]
    folds_ = pl.DataFrame(
        [
            {
                "fold": c.fold.fold,
                "train_start": months[c.fold.train[0]].item(),
                "train_end": end_of[c.fold.train[1]],
                "test_start": months[c.fold.test[0]].item(),
                "test_end": end_of[c.fold.test[1]],
                "config_hash": hashes[c.config] if c.config >= 0 else None,
                "eligible": c.eligible,
                "train_metric": c.train_metric,
                "train_time_in_band": c.train_time_in_band,
                **_test_figures(b, c),
                "calibration_in_sample": months[c.fold.test[0]].item() <= calibrated_until,
            }
            for c in choices
        ],
        infer_schema_length=None,
    )
    return WalkForward(folds_, stitched, headline(stitched, flat=flat))


def _month_end(first: np.datetime64) -> date:
    after: date = (first.astype("datetime64[M]") + 1).astype("datetime64[D]").item()
    return after - timedelta(days=1)


def _test_sessions(dates: np.ndarray, months: np.ndarray, c: Choice) -> np.ndarray:
    month = dates.astype("datetime64[M]").astype("datetime64[D]")
    return np.asarray((month >= months[c.fold.test[0]]) & (month <= months[c.fold.test[1]]))


def _test_figures(b: Blocks, c: Choice) -> dict[str, float | None]:
    if c.config < 0:
        return {"test_sharpe": None, "test_overlay_sharpe": None, "test_time_in_band": None}
    total = {k: v[c.config : c.config + 1] for k, v in b.window(*c.fold.test).items()}
    return {
        "test_sharpe": float(block_sharpe(total, overlay=False)[0]),
        "test_overlay_sharpe": float(block_sharpe(total, overlay=True)[0]),
        "test_time_in_band": float(time_in_band(total)[0]),
    }
