"""Trading costs of SPX options: a half-spread per leg fitted on the real chain.

**The model.** The quoted half-spread of an SPX option (index points) is

    half_spread = max(floor, exp(intercept) x price^price_elasticity x dte^dte_elasticity)

with ``price`` the option's mid (index points) and ``dte`` its calendar days to expiry.
A log-log least-squares fit on the iVolatility chain of 2011-01-03..07
(``../shared/data/spx_options_eod_sample_2011-01.csv.gz``): quoted rows (not
interpolated, bid > 0, ask > bid) with |delta| 0.02-0.50 and 10-120 days to expiry,
954 options. :func:`fit_spread_model` reproduces the defaults below from that file.

* Fit error: RMSE 0.29 point; median absolute error 22 % of the quoted half-spread.
* At the backtest's own strikes (0.15-delta shorts, 50-point wings, 42-46 days; means
  over the 5 days), quoted against modelled: short put 0.91 / 0.75, put wing 0.77 /
  0.54, short call 0.63 / 0.60, call wing 0.32 / 0.33. A round trip of the whole condor
  costs 2.23 points of half-spread per side in the model against 2.63 quoted: the model
  is 15 % cheap there (``spx_spread_scale`` 1.18 matches it). The flat default before
  this model charged 0.10 per leg, 0.40 per side.
* Price carries the VIX level: an option's price rises with implied vol, so its spread
  does (elasticity 0.46). A separate VIX term is not identifiable from one week of quotes
  (VIX 17.0-17.6); spreads that widen faster than prices in a crisis are not modelled,
  so a scale above 1 (``spx_spread_scale``) is the stress test.
* Calls and puts: a put/call term adds nothing (coefficient -0.005, error unchanged), though the
  fit is 0.15-0.23 point cheap on the 42-46-day puts above.
* Floor: half the 0.05 minimum tick.

The flat charge (``spx_half_spread`` points per leg, whatever the option) stays
available; ``spx_spread_scale`` multiplies whichever is in force and is a sweep dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class SpreadModel:
    """Half-spread per leg (index points) as a power law in price and days to expiry."""

    intercept: float = -2.258
    price_elasticity: float = 0.46
    dte_elasticity: float = 0.281
    floor: float = 0.025

    def half_spread(self, price: ArrayLike, dte: ArrayLike) -> F64:
        """Quoted half-spread of options with mid ``price`` and ``dte`` calendar days."""
        p = np.maximum(np.asarray(price, dtype=np.float64), 1e-6)
        d = np.maximum(np.asarray(dte, dtype=np.float64), 1.0)
        fitted = np.exp(self.intercept) * p**self.price_elasticity * d**self.dte_elasticity
        return np.asarray(np.maximum(fitted, self.floor), dtype=np.float64)


SPREAD_MODEL = SpreadModel()
"""The fitted default (:func:`fit_spread_model` on the 2011 chain, rounded to 3 dp)."""


@dataclass(frozen=True)
class SpreadFit:
    model: SpreadModel
    options: int  # quotes fitted
    rmse: float  # index points
    median_relative_error: float  # |model / quoted - 1|, median


def quoted_half_spreads(chain: pl.DataFrame) -> pl.DataFrame:
    """The chain's usable quotes (iVolatility columns): ``price`` (mid), ``dte``,
    ``abs_delta``, ``side`` (C/P), ``half_spread``; the rows the fit uses."""
    return (
        chain.filter(
            pl.col("isinterpolated").is_null()
            & (pl.col("bid") > 0)
            & (pl.col("ask") > pl.col("bid"))
        )
        .select(
            ((pl.col("ask") + pl.col("bid")) / 2).alias("price"),
            (pl.col("option_expiration") - pl.col("date")).dt.total_days().alias("dte"),
            pl.col("delta").abs().alias("abs_delta"),
            pl.col("call/put").alias("side"),
            ((pl.col("ask") - pl.col("bid")) / 2).alias("half_spread"),
        )
        .filter(pl.col("abs_delta").is_between(0.02, 0.5) & pl.col("dte").is_between(10, 120))
    )


def fit_spread_model(chain: pl.DataFrame, *, floor: float = SPREAD_MODEL.floor) -> SpreadFit:
    """Least squares of log half-spread on log price and log days to expiry."""
    q = quoted_half_spreads(chain)
    if q.height < 10:
        raise ValueError(f"a spread fit needs at least 10 quotes, the chain has {q.height}")
    price, dte, hs = (q[c].to_numpy().astype(np.float64) for c in ("price", "dte", "half_spread"))
    x = np.column_stack([np.ones(q.height), np.log(price), np.log(dte)])
    coef = np.linalg.lstsq(x, np.log(hs), rcond=None)[0]
    model = SpreadModel(
        intercept=round(float(coef[0]), 3),
        price_elasticity=round(float(coef[1]), 3),
        dte_elasticity=round(float(coef[2]), 3),
        floor=floor,
    )
    fitted = model.half_spread(price, dte)
    return SpreadFit(
        model=model,
        options=q.height,
        rmse=math.sqrt(float(np.mean((fitted - hs) ** 2))),
        median_relative_error=float(np.median(np.abs(fitted / hs - 1))),
    )


def leg_half_spreads(
    prices: ArrayLike, dte: float, *, model: SpreadModel | None, flat: float, scale: float
) -> F64:
    """Half-spread of each leg (points): the fitted model's, or ``flat``, times ``scale``."""
    p = np.asarray(prices, dtype=np.float64)
    base = np.full(p.shape, flat) if model is None else model.half_spread(p, dte)
    return np.asarray(scale * base, dtype=np.float64)
