"""Per-month sums of each configuration's daily statistics, from which the Sharpe
ratios and time in band of any window of whole months follow exactly.

Per configuration and calendar month: the sessions with a return, the sums of the
book's daily excess returns and of their squares, the same for the overlay (the book
less its equity sleeve, :func:`transforms.backtest.metrics.observe`), and the
sessions whose rolling R-squared exists and lies in the configuration's band. A sweep
keeps these (configurations x months x 7) instead of its daily paths, so selection on
any window (walk-forward folds, CSCV partitions) needs no re-simulation.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from transforms.annual import SESSIONS_PER_YEAR

F64 = NDArray[np.float64]
FIELDS = ("n", "ex", "ex2", "ov", "ov2", "band", "r2")


@dataclass(frozen=True)
class Blocks:
    """``sums[field]`` is configurations x months; ``months`` the first day of each;
    ``ruin`` the month each configuration's equity reached zero (``len(months)`` if
    never)."""

    months: NDArray[np.datetime64]
    sums: dict[str, F64]
    ruin: NDArray[np.intp]

    @property
    def configs(self) -> int:
        return int(self.sums["n"].shape[0])

    def window(self, first: int, last: int) -> dict[str, F64]:
        """Totals over months ``first``..``last`` (inclusive) per configuration."""
        return {
            k: by_rows(v, lambda a: a[:, first : last + 1].sum(axis=1))
            for k, v in self.sums.items()
        }


BATCH = 4096
"""Configurations per pass over a sweep's monthly sums."""


def release(a: NDArray[Any]) -> None:
    """Drop the resident pages of a memory-mapped array (a sweep's monthly sums live in
    a scratch file: its pages are read back on the next access); no-op otherwise. The
    map is the last base of ``a`` (a view's base is the array it views)."""
    base: object = a
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, mmap.mmap):
        base.madvise(mmap.MADV_DONTNEED)


def by_rows(a: F64, fn: Callable[[F64], F64]) -> F64:
    """``fn`` of row batches of ``a`` (configurations x ...), concatenated: a
    memory-mapped ``a`` is read a batch at a time and its pages released after each, so
    the memory a pass takes is a batch's, not the grid's. ``fn`` must be row-wise."""
    if a.shape[0] == 0:
        return fn(np.asarray(a))
    parts = []
    for lo in range(0, a.shape[0], BATCH):
        parts.append(fn(np.asarray(a[lo : lo + BATCH])))
        release(a)
    return np.asarray(np.concatenate(parts), dtype=np.float64)


def month_index(dates: NDArray[np.datetime64]) -> tuple[NDArray[np.datetime64], NDArray[np.intp]]:
    """The distinct months of ``dates`` (first days) and each date's month position."""
    month = dates.astype("datetime64[M]")
    months, position = np.unique(month, return_inverse=True)
    return months.astype("datetime64[D]"), position.astype(np.intp)


def sharpe(total: dict[str, F64], *, overlay: bool) -> F64:
    """Annualised Sharpe ratio from window totals (sample std, ddof 1); NaN below three
    sessions or without variance."""
    n = total["n"]
    s, s2 = (total["ov"], total["ov2"]) if overlay else (total["ex"], total["ex2"])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = (s2 - s * mean) / (n - 1)
        out = mean / np.sqrt(var) * math.sqrt(SESSIONS_PER_YEAR)
    return np.asarray(np.where((n >= 3) & (var > 0), out, np.nan), dtype=np.float64)


def time_in_band(total: dict[str, F64]) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(total["r2"] > 0, total["band"] / total["r2"], np.nan))
