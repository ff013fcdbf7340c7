"""Walk-forward selection: choose on each training window only, test on the next.

Folds are whole calendar months of the run. The first training window is the first
``train`` months; each test window is the ``test`` months after its training window;
windows step by ``test`` months. ``rolling`` training windows keep ``train`` months,
``expanding`` ones start at the first month. A final test window shorter than
``test`` months is kept (it is still out of sample).

At each fold, the configuration with the highest ``metric`` on the training months is
chosen among those eligible there: never ruined up to the training window's end
(returns on every training session) and with ``time in band >= min_time_in_band`` on
the training months. Ties go to the first configuration in the sweep's order. The
choice depends only on the training months' sums, so data after a training window can
never change that fold's choice (the engine is causal: a session's P&L uses data up to
that session).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from transforms.annual import SESSIONS_PER_YEAR, cagr, max_drawdown, years_between
from transforms.selection.blocks import Blocks, sharpe, time_in_band

F64 = NDArray[np.float64]
Mode = Literal["rolling", "expanding"]
SELECT_METRICS = ("overlay_sharpe", "sharpe")


@dataclass(frozen=True)
class Fold:
    fold: int
    train: tuple[int, int]  # first and last month (positions), inclusive
    test: tuple[int, int]


@dataclass(frozen=True)
class Choice:
    fold: Fold
    config: int  # row of the chosen configuration, -1 when none was eligible
    eligible: int
    train_metric: float
    train_time_in_band: float


def folds(months: int, *, train: int, test: int, mode: Mode = "rolling") -> list[Fold]:
    """The folds over ``months`` months."""
    if train < 1 or test < 1:
        raise ValueError(f"walk-forward lengths must be positive, got train {train}, test {test}")
    if mode not in ("rolling", "expanding"):
        raise ValueError(f"walk-forward windows are rolling or expanding, got {mode!r}")
    if train >= months:
        raise ValueError(
            f"a {train}-month training window leaves no test months in a {months}-month run"
        )
    out: list[Fold] = []
    start = train
    while start < months:
        first = 0 if mode == "expanding" else start - train
        out.append(Fold(len(out), (first, start - 1), (start, min(start + test, months) - 1)))
        start += test
    return out


def _metric(total: dict[str, F64], metric: str) -> F64:
    if metric not in SELECT_METRICS:
        raise ValueError(f"walk-forward selects by {' or '.join(SELECT_METRICS)}, got {metric!r}")
    return sharpe(total, overlay=metric == "overlay_sharpe")


def choose(
    b: Blocks,
    fold: Fold,
    *,
    metric: str = "overlay_sharpe",
    min_time_in_band: float = 0.0,
) -> Choice:
    """The fold's choice from its training months only."""
    train = b.window(*fold.train)
    value = _metric(train, metric)
    band = time_in_band(train)
    alive = b.ruin > fold.train[1]
    ok = alive & np.isfinite(value) & (np.nan_to_num(band) >= min_time_in_band)
    if not ok.any():
        return Choice(fold, -1, 0, float("nan"), float("nan"))
    k = int(np.argmax(np.where(ok, value, -np.inf)))
    return Choice(fold, k, int(ok.sum()), float(value[k]), float(band[k]))


def walk_forward(
    b: Blocks,
    *,
    train: int,
    test: int,
    mode: Mode = "rolling",
    metric: str = "overlay_sharpe",
    min_time_in_band: float = 0.0,
) -> list[Choice]:
    return [
        choose(b, f, metric=metric, min_time_in_band=min_time_in_band)
        for f in folds(len(b.months), train=train, test=test, mode=mode)
    ]


STRESS_WINDOWS: dict[str, tuple[str, str]] = {
    "2008": ("2008-09-01", "2008-11-20"),
    "2018_02": ("2018-01-26", "2018-02-08"),
    "2018_q4": ("2018-09-20", "2018-12-24"),
    "2020": ("2020-02-19", "2020-03-23"),
}
"""SPX's stress windows (closing high to closing low) the reports quote offsets for."""


def stitch(
    dates: NDArray[np.datetime64],
    months: NDArray[np.datetime64],
    choices: list[Choice],
    daily: dict[int, dict[str, F64]],
    hashes: list[str],
) -> pl.DataFrame:
    """The out-of-sample series: on each fold's test sessions, the daily figures of its
    chosen configuration (``daily[config]``: arrays over ``dates`` named ``excess``,
    ``overlay``, ``return``, ``in_band``, ``has_r2``, ``condor``, ``hedge``, ``equity``
    (previous close)); ``equity`` is the stitched account, 1.0 before the first test
    session, compounding each session's return (a ruin ends it at 0)."""
    month = dates.astype("datetime64[M]").astype("datetime64[D]")
    parts = []
    for c in choices:
        if c.config < 0:
            continue
        first, last = months[c.fold.test[0]], months[c.fold.test[1]]
        at = (month >= first) & (month <= last)
        d = daily[c.config]
        parts.append(
            pl.DataFrame(
                {
                    "date": dates[at].astype("datetime64[D]"),
                    "fold": np.full(int(at.sum()), c.fold.fold),
                    "config_hash": [hashes[c.config]] * int(at.sum()),
                    **{k: d[k][at] for k in ("return", "excess", "overlay", "in_band", "has_r2")},
                    "pnl_condor": d["condor"][at],
                    "pnl_hedge": d["hedge"][at],
                    "prev_equity": d["equity"][at],
                }
            )
        )
    if not parts:
        return pl.DataFrame()
    frame = pl.concat(parts).with_columns(pl.col("date").cast(pl.Date))
    growth = np.cumprod(np.maximum(1.0 + np.nan_to_num(frame["return"].to_numpy()), 0.0))
    return frame.with_columns(pl.Series("equity", growth))


def headline(frame: pl.DataFrame, *, flat: NDArray[np.bool_] | None = None) -> dict[str, float]:
    """Out-of-sample figures of the stitched series: Sharpe (book, overlay), time in
    band, CAGR, max drawdown, the hedge's annual P&L share of equity over all sessions
    (``oos_hedge_cost``) and over flat sessions only (``flat``: one flag per row;
    ``oos_hedge_cost_flat``), and the offset (hedge P&L / condor loss) in each stress window the
    series covers."""
    if frame.is_empty():
        return {}
    total = {
        "n": np.array([float(frame["excess"].is_not_nan().sum())]),
        "ex": np.array([float(frame["excess"].fill_nan(0).sum())]),
        "ex2": np.array([float((frame["excess"].fill_nan(0) ** 2).sum())]),
        "ov": np.array([float(frame["overlay"].fill_nan(0).sum())]),
        "ov2": np.array([float((frame["overlay"].fill_nan(0) ** 2).sum())]),
        "band": np.array([float((frame["in_band"] & frame["has_r2"]).sum())]),
        "r2": np.array([float(frame["has_r2"].sum())]),
    }
    equity = frame["equity"].to_numpy()
    dates = frame["date"].to_numpy()
    years = max(years_between(dates[0], dates[-1]), 1e-9)
    out = {
        "oos_sharpe": float(sharpe(total, overlay=False)[0]),
        "oos_overlay_sharpe": float(sharpe(total, overlay=True)[0]),
        "oos_time_in_band": float(time_in_band(total)[0]),
        "oos_cagr": float(cagr(equity[-1], years)),
        "oos_max_drawdown": max_drawdown(equity, start=1.0),
        "oos_sessions": float(frame.height),
    }
    share = (frame["pnl_hedge"] / frame["prev_equity"]).to_numpy()
    out["oos_hedge_cost"] = float(np.nanmean(share) * SESSIONS_PER_YEAR)
    if flat is not None and flat.any():
        out["oos_hedge_cost_flat"] = float(np.nanmean(share[flat]) * SESSIONS_PER_YEAR)
    for name, (a, b) in STRESS_WINDOWS.items():
        w = frame.filter(pl.col("date").is_between(date.fromisoformat(a), date.fromisoformat(b)))
        loss = -float(w["pnl_condor"].sum())
        if w.height and loss > 0:
            out[f"oos_offset_{name}"] = float(w["pnl_hedge"].sum()) / loss
    return out
