"""Textbook indicators as Polars expressions. All are causal: the value for day t uses
data through t only.

* EMA(span n): ``e_t = a x_t + (1 - a) e_{t-1}``, ``a = 2 / (n + 1)``, seeded with the first
  value (``adjust=False``).
* MACD(fast, slow, signal): ``EMA_fast(x) - EMA_slow(x)``; signal = EMA_signal(MACD);
  histogram = MACD - signal. Values before ``slow + signal - 1`` observations are null
  (warm-up), so no value rests on a seed alone.
* RSI(n), Wilder: gains/losses of day-to-day changes; the first average is the simple
  mean of the first n, then ``avg_t = (avg_{t-1} (n - 1) + g_t) / n``;
  ``RSI = 100 - 100 / (1 + avg_gain / avg_loss)`` (100 when there are no losses).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class MacdParams:
    fast: int = 12
    slow: int = 26
    signal: int = 9


def ema(x: pl.Expr, *, span: int) -> pl.Expr:
    return x.ewm_mean(span=span, adjust=False, ignore_nulls=True)


def macd(x: pl.Expr, *, params: MacdParams = MacdParams()) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(MACD line, signal line, histogram) of ``x``, null during the warm-up."""
    line = ema(x, span=params.fast) - ema(x, span=params.slow)
    signal = ema(line, span=params.signal)
    seen = x.is_not_null().cum_sum()
    ready = seen >= params.slow + params.signal - 1
    return (
        pl.when(ready).then(line),
        pl.when(ready).then(signal),
        pl.when(ready).then(line - signal),
    )


def rsi_from_changes(change: pl.Expr, *, window: int = 14) -> pl.Expr:
    """Wilder's RSI from day-to-day changes (row 0 has none); null in the warm-up."""
    gain = change.clip(lower_bound=0.0)
    loss = (-change).clip(lower_bound=0.0)
    n = pl.int_range(pl.len())  # the seed, the mean of changes 1..window, sits on row window

    def wilder(g: pl.Expr) -> pl.Expr:
        seed = g.slice(1, window).mean()
        seeded = pl.when(n == window).then(seed).when(n > window).then(g)
        return seeded.ewm_mean(alpha=1.0 / window, adjust=False, ignore_nulls=True)

    avg_gain, avg_loss = wilder(gain), wilder(loss)
    rsi = pl.when(avg_loss == 0).then(100.0).otherwise(100.0 - 100.0 / (1.0 + avg_gain / avg_loss))
    return pl.when(n >= window).then(rsi)


def rsi_wilder(x: pl.Expr, *, window: int = 14) -> pl.Expr:
    """Wilder's RSI of a level series ``x`` (one row per observation, no gaps)."""
    return rsi_from_changes(x.diff(), window=window)
