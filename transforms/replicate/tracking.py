"""How closely a replica follows a published index.

Input: a frame ``date, ours, published`` of index levels on the published index's dates
(sorted). The error of a period is the difference of log returns, ours minus published,
so it is additive over time and insensitive to the level's base.

* tracking error: standard deviation of the period errors x sqrt(periods per year);
* drift: (cumulative log return of ours - of published) per year;
* annual return (geometric), volatility (of simple returns, annualised) and maximum
  drawdown, for each side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from transforms.annual import SESSIONS_PER_YEAR, cagr, max_drawdown, years_between

MONTHLY = 12


@dataclass(frozen=True)
class Tracking:
    periods: int
    start: date
    end: date
    correlation: float
    tracking_error: float
    drift: float  # per year
    worst_date: date
    worst_error: float
    over_threshold: int  # periods with |error| above the threshold
    ours_return: float  # annualised, geometric
    published_return: float
    ours_vol: float
    published_vol: float
    ours_max_drawdown: float
    published_max_drawdown: float


def _common(levels: pl.DataFrame) -> pl.DataFrame:
    """Dates where both sides have a level (NaN counts as missing)."""
    return levels.with_columns(pl.col("ours", "published").fill_nan(None)).drop_nulls(
        ["ours", "published"]
    )


def with_errors(levels: pl.DataFrame) -> pl.DataFrame:
    """``levels`` plus the log return of each side and their difference (``error``);
    the first row has null returns."""
    return (
        levels.sort("date")
        .with_columns(
            pl.col("ours").log().diff().alias("ours_log_return"),
            pl.col("published").log().diff().alias("published_log_return"),
        )
        .with_columns((pl.col("ours_log_return") - pl.col("published_log_return")).alias("error"))
    )


def tracking(
    levels: pl.DataFrame, *, per_year: float = SESSIONS_PER_YEAR, threshold: float = 0.005
) -> Tracking:
    """Tracking statistics of ``levels`` (``date, ours, published``)."""
    frame = with_errors(_common(levels))
    if frame.height < 3:
        raise ValueError("need at least three common dates to compare")
    rows = frame.slice(1)
    err = rows["error"].to_numpy()
    ours, pub = frame["ours"].to_numpy(), frame["published"].to_numpy()
    start, end = frame["date"][0], frame["date"][-1]
    years = years_between(start, end)
    worst = int(np.argmax(np.abs(err)))
    simple_ours, simple_pub = np.diff(ours) / ours[:-1], np.diff(pub) / pub[:-1]
    return Tracking(
        periods=len(err),
        start=start,
        end=end,
        correlation=float(np.corrcoef(rows["ours_log_return"], rows["published_log_return"])[0, 1]),
        tracking_error=float(np.std(err, ddof=1) * math.sqrt(per_year)),
        drift=float(np.sum(err) / years),
        worst_date=rows["date"][worst],
        worst_error=float(err[worst]),
        over_threshold=int(np.sum(np.abs(err) > threshold)),
        ours_return=float(cagr(ours[-1] / ours[0], years)),
        published_return=float(cagr(pub[-1] / pub[0], years)),
        ours_vol=float(np.std(simple_ours, ddof=1) * math.sqrt(per_year)),
        published_vol=float(np.std(simple_pub, ddof=1) * math.sqrt(per_year)),
        ours_max_drawdown=max_drawdown(ours),
        published_max_drawdown=max_drawdown(pub),
    )


def by_year(levels: pl.DataFrame, *, per_year: float = SESSIONS_PER_YEAR) -> pl.DataFrame:
    """Per calendar year: return of each side, tracking error and worst error."""
    frame = with_errors(_common(levels)).drop_nulls("error")
    return (
        frame.group_by(pl.col("date").dt.year().alias("year"))
        .agg(
            (pl.col("ours_log_return").sum().exp() - 1).alias("ours_return"),
            (pl.col("published_log_return").sum().exp() - 1).alias("published_return"),
            (pl.col("error").std() * math.sqrt(per_year)).alias("tracking_error"),
            pl.col("error").abs().max().alias("worst_abs_error"),
            pl.len().alias("periods"),
        )
        .sort("year")
    )


def rebased(levels: pl.DataFrame) -> pl.DataFrame:
    """``ours`` scaled to equal ``published`` on the first common date."""
    both = _common(levels).sort("date")
    scale = both["published"][0] / both["ours"][0]
    return levels.with_columns(pl.col("ours") * scale)
