"""Annualisation, growth and drawdown, defined once for the metrics, the walk-forward
folds, the replication statistics and the reports.

Sessions annualise by :data:`SESSIONS_PER_YEAR`; calendar spans count years of
:data:`DAYS_PER_YEAR` days; a compound annual growth rate of a book whose equity reached
zero is -1; a drawdown is the equity over its running peak (the starting capital
included when given) less one, so never positive.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
SESSIONS_PER_YEAR = 252.0
DAYS_PER_YEAR = 365.25


def years_between(first: date | np.datetime64, last: date | np.datetime64) -> float:
    """Calendar years from ``first`` to ``last``."""
    days = np.array([last, first], dtype="datetime64[D]").astype(np.int64)
    return float(days[0] - days[1]) / DAYS_PER_YEAR


def cagr(growth: F64, years: float) -> F64:
    """Compound annual growth rate of each ``growth`` (final over initial equity) over
    ``years``: -1 where the equity reached zero, NaN where the growth is unknown."""
    g = np.asarray(growth, dtype=np.float64)
    grown = np.power(np.maximum(g, 0.0), 1.0 / years) - 1.0  # NaN stays NaN
    return np.where(g <= 0, -1.0, grown)


def drawdowns(equity: F64, start: float | None = None) -> F64:
    """Each session's drawdown: equity over its running peak (``start`` counting as the
    first peak when given) less one."""
    e = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(e if start is None else np.r_[start, e])
    return e / (peak if start is None else peak[1:]) - 1.0


def max_drawdown(equity: F64, start: float | None = None) -> float:
    """The deepest drawdown (a negative number, 0 for a curve that never fell)."""
    return float(np.min(drawdowns(equity, start)))
