"""Stress calibration (methodology section 3, a mode, not a default).

The hedge ratio whose second engine offsets the condor's modelled loss in a ``spx_move``
SPX day (default -4 %) with the historically matching VIX move:

* the VIX move is the mean VIX point change over the run's sessions on which SPX fell
  between ``spx_move`` - 1 % and ``spx_move`` + 1 % (in-sample by construction; printed
  with the number of such sessions);
* the condor's loss: its legs revalued at SPX x (1 + ``spx_move``) and VIX, VIX3M + the
  VIX move (the smile of :mod:`transforms.options.smile`), against that close's mark;
* the second engine is sized so that its payoff per VIX point is h x |condor vega|
  (futures at their term beta, calls at delta x term beta), so to first order it pays
  h x |condor vega| x VIX move; h* = condor loss / (|condor vega| x VIX move).

Reported per session with an open condor: the median h* and the h* of the run's last
such session.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from transforms.backtest.book import Group
from transforms.backtest.condor import MULTIPLIER, CondorPricer
from transforms.backtest.params import BacktestParams

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class StressCalibration:
    spx_move: float
    vix_move: float  # VIX points
    shock_days: int  # sessions behind vix_move
    hedge_ratio_median: float
    hedge_ratio_last: float
    sessions: int  # sessions with an open condor


def stress_hedge_ratio(
    group: Group, p: BacktestParams, *, spx_move: float = -0.04
) -> StressCalibration:
    m, cp = group.market, group.condor
    dvix = np.concatenate([[np.nan], np.diff(m.vix)])
    like = (np.abs(group.spx_return - spx_move) <= 0.01) & np.isfinite(dvix)
    like[0] = False
    vix_move = float(dvix[like].mean()) if like.any() else math.nan
    pricer = CondorPricer(m, p)
    ratios: list[F64] = []  # each condor's sessions
    opened: dict[date, tuple[int, np.ndarray, float]] = {}
    for t in cp.trades:
        if t.action == "open":
            opened[t.expiry] = (t.day, np.array(t.strikes), MULTIPLIER * t.lots)
            continue
        start, strikes, units = opened.pop(t.expiry)
        ratios.append(
            _ratios(
                group, pricer, strikes, t.expiry, range(start, t.day), vix_move, units, spx_move
            )
        )
    for expiry, (start, strikes, units) in opened.items():  # still open at the end
        ratios.append(
            _ratios(group, pricer, strikes, expiry, range(start, m.days), vix_move, units, spx_move)
        )
    values = np.concatenate(ratios) if ratios else np.empty(0)
    return StressCalibration(
        spx_move=spx_move,
        vix_move=vix_move,
        shock_days=int(like.sum()),
        hedge_ratio_median=float(np.median(values)) if len(values) else math.nan,
        hedge_ratio_last=float(values[-1]) if len(values) else math.nan,
        sessions=len(values),
    )


def _ratios(  # noqa: PLR0917 (internal helper)
    group: Group,
    pricer: CondorPricer,
    strikes: np.ndarray,
    expiry: date,
    days: range,
    vix_move: float,
    units: float,
    spx_move: float,
) -> F64:
    m, cp = group.market, group.condor
    sessions = np.arange(days.start, days.stop, dtype=np.int64)
    day = m.dates[sessions].astype("datetime64[D]")
    left = (np.datetime64(expiry, "D") - day).astype(np.int64).astype(np.float64)
    keep = (left > 0) & (cp.vega[sessions] != 0)
    sessions, left = sessions[keep], left[keep]
    if not len(sessions):
        return np.empty(0)
    now = pricer.values(sessions, strikes, left, (0.0, 0.0))
    shocked = pricer.values(sessions, strikes, left, (spx_move, vix_move))
    return np.asarray((shocked - now) * units / (np.abs(cp.vega[sessions]) * vix_move), np.float64)
