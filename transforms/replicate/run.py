"""One replication run: every requested index against its published history.

Windows (never overlapping where a parameter is fitted; both are reported):

* SPVXSP, SPVXMP: no parameter is fitted; evaluated 2006-2022 (daily).
* VIX calls: the call skew is calibrated on 2006-2012 quotes and evaluated on 2013-2018.
  VXTH uses the calibrated skew and is reported on its whole history (2006-03..2018-05)
  and on the evaluation window alone.
* PUT, CNDR: the smile's ATM ratio (the premium level) is calibrated so that PUT's mean
  monthly log-return error on 2004-2011 month-ends is nearest zero
  (:func:`transforms.calibration.fit_atm_ratio`, a 0.02 grid from 0.70 to 1.10); CNDR is
  not fitted at all. Both are evaluated on 2012-2021 month-ends, and
  daily on 2012-2019/07 (PUT) and 2015-09..2019-07 (CNDR: the daily file's earlier CNDR
  history is a superseded vintage). ``evaluation_costs``: the same months with the
  backtest's costs paid on every sale (half-spreads of the cost model and commissions),
  which the published indices do not pay: the gap between the two rows is what trading
  the index would cost, and what is left of the drift is the model's premium level.
  ``evaluation_trailing``: the same months with the ATM ratio re-fitted before each
  evaluated year on the :data:`TRAILING_YEARS` years before it (PUT's drift nearest zero,
  never on the year it prices), the yearly pieces chained month by month: the premium
  level drifts (0.92 fits 2004-2011, about 0.81 2012-2021), so one fixed calibration
  cannot serve both.
* Every index's days with a daily error above 0.5 % are listed (``large_errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date

import numpy as np
import polars as pl

from transforms.backtest.market import Market
from transforms.backtest.params import BacktestParams
from transforms.backtest.run import Inputs
from transforms.calibration import fit_atm_ratio
from transforms.replicate import INDICES, spx_options, tracking, vix_calls, vix_futures

FUTURES = {"SPVXSP": vix_futures.SHORT_TERM, "SPVXMP": vix_futures.MID_TERM}
TRAILING_YEARS = 8  # the ATM ratio's trailing calibration window, years before each year
DAY_THRESHOLD = 0.005  # a daily error above 0.5 % is listed and explained
MONTH_THRESHOLD = 0.02


@dataclass(frozen=True)
class Windows:
    futures: tuple[date, date] = (date(2006, 1, 1), date(2022, 12, 31))
    call_calibration: tuple[date, date] = (date(2006, 1, 1), date(2012, 12, 31))
    call_evaluation: tuple[date, date] = (date(2013, 1, 1), date(2018, 12, 31))
    smile_calibration: tuple[date, date] = (date(2004, 1, 1), date(2011, 12, 31))
    smile_evaluation: tuple[date, date] = (date(2012, 1, 1), date(2021, 12, 31))
    cndr_daily_from: date = date(2015, 9, 1)

    def __post_init__(self) -> None:
        for a, b in (
            (self.call_calibration, self.call_evaluation),
            (self.smile_calibration, self.smile_evaluation),
        ):
            if a[1] >= b[0]:
                raise ValueError(f"calibration window {a} overlaps evaluation window {b}")


@dataclass(frozen=True)
class Reference:
    """Published histories (transforms.parse.reference frames)."""

    sp_vix: pl.DataFrame
    cboe_daily: pl.DataFrame
    cboe_monthly: pl.DataFrame
    vxth: pl.DataFrame


@dataclass(frozen=True)
class Replication:
    summary: pl.DataFrame  # one row per index and window
    daily: pl.DataFrame  # index, date, ours, published, error
    by_year: pl.DataFrame  # index, year, ...
    call_errors: pl.DataFrame  # window, by, bucket, ...
    large_errors: pl.DataFrame  # index, date, error (daily |error| > DAY_THRESHOLD)
    calibrated: dict[str, float]
    snapshots: dict[str, str]  # index -> market snapshot it was computed on


REPORTED = (
    "index_name",
    "window",
    "frequency",
    "start",
    "end",
    "correlation",
    "tracking_error",
    "drift",
    "worst_date",
    "worst_error",
    "ours_return",
    "published_return",
    "ours_vol",
    "published_vol",
    "ours_max_drawdown",
    "published_max_drawdown",
)
"""Summary columns a report shows (the rest: fitted, periods, over_threshold)."""
PERCENT = tuple(c for c in REPORTED[5:] if c not in ("correlation", "worst_date"))
"""Of those, the ones that are fractions (a report shows them in percent)."""


def check_indices(indices: Sequence[str]) -> None:
    unknown = [i for i in indices if i not in INDICES]
    if unknown:
        raise ValueError(
            f"unknown index {', '.join(unknown)}: expected some of {', '.join(INDICES)}"
        )


def _row(
    index: str, window: str, frequency: str, fitted: str, t: tracking.Tracking
) -> dict[str, object]:
    return {
        "index_name": index,
        "window": window,
        "frequency": frequency,
        "fitted": fitted,
        **asdict(t),
    }


def _levels(dates: np.ndarray, ours: np.ndarray, published: pl.DataFrame, col: str) -> pl.DataFrame:
    """``date, ours, published`` on the published dates (ours NaN -> null)."""
    frame = pl.DataFrame({"date": dates.astype("datetime64[D]"), "ours": ours}).with_columns(
        pl.col("date").cast(pl.Date), pl.col("ours").fill_nan(None)
    )
    pub = published.select("date", pl.col(col).alias("published")).drop_nulls("published")
    return frame.join(pub, on="date", how="inner").sort("date")


def _window(levels: pl.DataFrame, window: tuple[date, date]) -> pl.DataFrame:
    """The dates inside ``window``, ours rebased to published on the first of them."""
    return tracking.rebased(levels.filter(pl.col("date").is_between(*window)))


@dataclass
class _Acc:
    """What the per-family replications add to (one run)."""

    market: Callable[[date, date], Market]
    rows: list[dict[str, object]] = field(default_factory=list)
    daily: list[pl.DataFrame] = field(default_factory=list)
    years: list[pl.DataFrame] = field(default_factory=list)
    large: list[pl.DataFrame] = field(default_factory=list)
    calibrated: dict[str, float] = field(default_factory=dict)
    snapshots: dict[str, str] = field(default_factory=dict)
    call_errors: pl.DataFrame = field(default_factory=pl.DataFrame)

    def add_daily(self, index: str, levels: pl.DataFrame) -> None:
        """Keep an index's daily rows, its figures by year and its days over
        :data:`DAY_THRESHOLD`."""
        rows = tracking.with_errors(levels).select(
            pl.lit(index).alias("index_name"), "date", "ours", "published", "error"
        )
        self.daily.append(rows)
        self.years.append(tracking.by_year(levels).with_columns(pl.lit(index).alias("index_name")))
        self.large.append(rows.filter(pl.col("error").abs() > DAY_THRESHOLD))


def _futures(
    c: _Acc,
    reference: Reference,
    indices: Sequence[str],
    unscheduled: Collection[date],
    windows: Windows,
) -> None:
    for name in (i for i in INDICES if i in indices and i in FUTURES):
        pub = reference.sp_vix.drop_nulls(name)
        m = c.market(pub["date"].min(), pub["date"].max())  # type: ignore[arg-type]
        c.snapshots[name] = m.snapshot
        level = vix_futures.index_level(m, FUTURES[name], unscheduled=unscheduled, base=1.0)
        levels = _window(_levels(m.dates, level, pub, name), windows.futures)
        c.rows.append(
            _row(name, "full", "daily", "", tracking.tracking(levels, threshold=DAY_THRESHOLD))
        )
        c.add_daily(name, levels)


def _vxth(c: _Acc, reference: Reference, params: BacktestParams, windows: Windows) -> None:
    pub = reference.vxth
    m = c.market(pub["date"].min(), pub["date"].max())  # type: ignore[arg-type]
    c.snapshots["VXTH"] = m.snapshot
    calls = vix_calls.quoted_calls(m, pub.select("date", "expiry", "strike", "mid"))
    fit = vix_calls.window(calls, *windows.call_calibration)
    model, _ = vix_calls.calibrate(fit, vol_of_vol=params.vol_of_vol)
    c.calibrated["vix_call_skew"] = model.skew
    tables = []
    for label, win in (
        ("calibration", windows.call_calibration),
        ("evaluation", windows.call_evaluation),
    ):
        for which, mdl in (
            ("default", vix_calls.CallModel(params.vol_of_vol, params.vix_call_skew)),
            ("calibrated", model),
        ):
            table = vix_calls.error_table(vix_calls.priced(vix_calls.window(calls, *win), mdl))
            tables.append(
                table.with_columns(
                    pl.lit(label).alias("window"),
                    pl.lit(f"{win[0]}..{win[1]}").alias("dates"),
                    pl.lit(which).alias("model"),
                    pl.lit(mdl.skew).alias("skew"),
                )
            )
    c.call_errors = pl.concat(tables).select(
        "window", "dates", "model", "skew", pl.all().exclude("window", "dates", "model", "skew")
    )
    cal = windows.call_calibration
    fitted = f"vix_call_skew={model.skew} on {cal[0]}..{cal[1]}"
    for label, quotes in (("full", None), ("quoted_calls", pub)):
        level = vix_calls.tail_hedge(
            m,
            model=model,
            call_delta=params.call_delta,
            div_yield=params.div_yield,
            base=1.0,
            quotes=quotes,
        )
        levels = tracking.rebased(_levels(m.dates, level, pub, "VXTH"))
        c.rows.append(_row("VXTH", label, "daily", fitted, tracking.tracking(levels)))
        if quotes is None:
            c.add_daily("VXTH", levels)
            evaluation = _window(levels, windows.call_evaluation)
            c.rows.append(
                _row("VXTH", "evaluation", "daily", fitted, tracking.tracking(evaluation))
            )


def _option_writing(
    c: _Acc, reference: Reference, writers: list[str], params: BacktestParams, windows: Windows
) -> None:
    monthly, daily_pub = reference.cboe_monthly, reference.cboe_daily
    m = c.market(params.start_date, monthly["date"].max())  # type: ignore[arg-type]
    for name in writers:
        c.snapshots[name] = m.snapshot
    month_pub = monthly.with_columns(pl.col("date").dt.month_end())

    def monthly_levels(level: np.ndarray, name: str) -> pl.DataFrame:
        ends = spx_options.month_ends(m.dates, level).rename({"month": "date"})
        pub = month_pub.select("date", pl.col(name).alias("published"))
        return ends.join(pub, on="date").drop_nulls()

    cache: dict[tuple[str, float], pl.DataFrame] = {}

    def at(name: str, ratio: float) -> pl.DataFrame:
        """Month-end levels of ``name`` written with ATM ratio ``ratio`` (cached)."""
        if (name, ratio) not in cache:
            p = replace(params, smile_atm_ratio=ratio)
            level = spx_options.write_options(m, p, index=name, base=1.0)
            cache[name, ratio] = monthly_levels(level, name)
        return cache[name, ratio]

    def fitted_on(window: tuple[date, date]) -> float:
        """The ATM ratio whose PUT mean monthly log-return error on ``window`` is
        nearest zero: the ATM ratio sets the premium level, which the drift measures."""

        def drift(ratio: float) -> float:
            err = tracking.with_errors(_window(at("PUT", ratio), window))
            return float(err["error"].drop_nulls().mean())  # type: ignore[arg-type]

        return fit_atm_ratio(drift)

    best = fitted_on(windows.smile_calibration)
    c.calibrated["smile_atm_ratio"] = best
    p = replace(params, smile_atm_ratio=best)
    cal = windows.smile_calibration
    fitted = f"smile_atm_ratio={best} on {cal[0]}..{cal[1]}"
    first, last = windows.smile_evaluation
    trailing = {
        y: fitted_on((date(y - TRAILING_YEARS, 1, 1), date(y - 1, 12, 31)))
        for y in range(first.year, last.year + 1)
    }
    trailing_fit = f"smile_atm_ratio fitted on the {TRAILING_YEARS} years before each year: " + (
        ", ".join(f"{y} {r}" for y, r in trailing.items())
    )
    for name in writers:
        level = spx_options.write_options(m, p, index=name, base=1.0)
        by_month = monthly_levels(level, name)
        chained = _chained({y: at(name, r) for y, r in trailing.items()})
        c.rows.append(
            _row(
                name,
                "evaluation_trailing",
                "monthly",
                trailing_fit,
                tracking.tracking(
                    _window(chained, windows.smile_evaluation),
                    per_year=tracking.MONTHLY,
                    threshold=MONTH_THRESHOLD,
                ),
            )
        )
        with_costs = monthly_levels(
            spx_options.write_options(m, p, index=name, base=1.0, costs=True), name
        )
        for label, win, months in (
            ("calibration", cal, by_month),
            ("evaluation", windows.smile_evaluation, by_month),
            ("evaluation_costs", windows.smile_evaluation, with_costs),
        ):
            figures = tracking.tracking(
                _window(months, win), per_year=tracking.MONTHLY, threshold=MONTH_THRESHOLD
            )
            c.rows.append(_row(name, label, "monthly", fitted, figures))
        first = windows.cndr_daily_from if name == "CNDR" else date.min
        daily = (max(windows.smile_evaluation[0], first), windows.smile_evaluation[1])
        levels = _window(_levels(m.dates, level, daily_pub, name), daily)
        c.rows.append(_row(name, "evaluation", "daily", fitted, tracking.tracking(levels)))
        c.add_daily(name, levels)


def _chained(by_year: dict[int, pl.DataFrame]) -> pl.DataFrame:
    """Month-end levels chained from yearly pieces: each month's return is the one of its
    year's levels (``date, ours, published`` each), so a year priced with its own
    calibration joins the year before it without a jump."""
    parts = [
        levels.sort("date")
        .with_columns((pl.col("ours") / pl.col("ours").shift()).alias("growth"))
        .filter(pl.col("date").dt.year() == year)
        for year, levels in sorted(by_year.items())
    ]
    frame = pl.concat(parts).with_columns(pl.col("growth").fill_null(1.0))
    return frame.select("date", pl.col("growth").cum_prod().alias("ours"), "published")


def replicate(
    inputs: Inputs,
    reference: Reference,
    *,
    indices: Sequence[str] = INDICES,
    unscheduled: Collection[date],
    params: BacktestParams | None = None,
    windows: Windows = Windows(),
) -> Replication:
    """Replicate ``indices`` (the engine's defaults unless ``params``) over their windows."""
    check_indices(indices)
    base = BacktestParams() if params is None else params
    c = _Acc(market=lambda start, end: inputs.market(replace(base, start_date=start, end_date=end)))
    _futures(c, reference, indices, unscheduled, windows)
    if "VXTH" in indices:
        _vxth(c, reference, base, windows)
    writers = [i for i in ("PUT", "CNDR") if i in indices]
    if writers:
        _option_writing(c, reference, writers, base, windows)
    return Replication(
        summary=pl.DataFrame(c.rows, infer_schema_length=None),
        daily=pl.concat(c.daily) if c.daily else pl.DataFrame(),
        by_year=pl.concat(c.years).select("index_name", pl.all().exclude("index_name"))
        if c.years
        else pl.DataFrame(),
        call_errors=c.call_errors,
        large_errors=pl.concat(c.large) if c.large else pl.DataFrame(),
        calibrated=c.calibrated,
        snapshots=c.snapshots,
    )
