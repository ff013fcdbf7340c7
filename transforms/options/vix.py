"""VIX options: Black-76 on the VX future of the same expiry, with a VVIX-driven smile.

* Base vol: VVIX / 100 where VVIX printed that day, else ``vol_of_vol`` (VVIX starts in
  2006 and has gaps). VVIX is the 30-day implied vol of VIX options, so it is used as
  the at-the-money level of the front series.
* Call skew (VIX smiles slope upward): ``vol(K) = base x max(1 + skew ln(K / F), 0.5)``.
* Listed strikes on a ``grid``-point lattice (1 point, the common listing for the
  strikes a hedge buys).

Everything broadcasts: one call prices a strike ladder, many configurations, or every
day of a run.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from transforms.options.black import black76, black76_delta

Array = NDArray[np.float64]


def base_vol(vvix: ArrayLike, *, vol_of_vol: ArrayLike) -> Array:
    """The series' ATM vol: VVIX / 100 where VVIX printed, else the parameter."""
    v = np.asarray(vvix, dtype=np.float64)
    return np.asarray(np.where(np.isfinite(v), v / 100.0, vol_of_vol), dtype=np.float64)


def call_vol(*, strike: ArrayLike, forward: ArrayLike, base: ArrayLike, skew: ArrayLike) -> Array:
    k, f = np.asarray(strike, dtype=np.float64), np.asarray(forward, dtype=np.float64)
    factor = np.maximum(1.0 + np.asarray(skew) * np.log(k / f), 0.5)
    return np.asarray(np.asarray(base) * factor, dtype=np.float64)


def call_value(
    *,
    strike: ArrayLike,
    forward: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    base: ArrayLike,
    skew: ArrayLike,
) -> tuple[Array, Array]:
    """(price, delta) of calls on the future (broadcasting); intrinsic value where
    ``t`` <= 0."""
    k, f, tt = (np.asarray(a, dtype=np.float64) for a in (strike, forward, t))
    if np.all(tt <= 0):
        return np.maximum(f - k, 0.0), (f > k).astype(np.float64)
    g = black76(
        forward=f,
        strike=k,
        t=tt,
        rate=rate,
        vol=call_vol(strike=k, forward=f, base=base, skew=skew),
        is_call=True,
    )
    return g.price, g.delta


def call_delta(
    *,
    strike: ArrayLike,
    forward: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    base: ArrayLike,
    skew: ArrayLike,
) -> Array:
    """:func:`call_value`'s delta alone, the same numbers (what the strike search reads)."""
    k, f, tt = (np.asarray(a, dtype=np.float64) for a in (strike, forward, t))
    if np.all(tt <= 0):
        return (f > k).astype(np.float64)
    vol = call_vol(strike=k, forward=f, base=base, skew=skew)
    return black76_delta(forward=f, strike=k, t=tt, rate=rate, vol=vol, is_call=True)


def call_strike(
    *,
    forward: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    base: ArrayLike,
    skew: ArrayLike,
    target_delta: ArrayLike,
    otm_points: ArrayLike,
    grid: float = 1.0,
) -> Array:
    """Listed strike per query (all arguments broadcast to one shape): the strike on the
    ``grid`` lattice from half to four times the future whose delta is nearest
    ``target_delta`` (the lowest on a tie), or the first strike at least ``otm_points``
    above the future where that is positive."""
    f, tt, r, b, s, target, otm = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in
          (forward, t, rate, base, skew, target_delta, otm_points))
    )  # fmt: skip
    shape = f.shape
    f, tt, r, b, s, target, otm = (a.ravel() for a in (f, tt, r, b, s, target, otm))
    low = np.floor(0.5 * f / grid)
    high = np.ceil(4 * f / grid)
    steps = int(np.max(high - low)) + 1
    lattice = (low[:, None] + np.arange(steps)[None, :]) * grid
    valid = (lattice <= (high * grid)[:, None]) & (lattice > 0)
    safe = np.where(valid, lattice, f[:, None])
    deltas = call_delta(
        strike=safe, forward=f[:, None], t=tt[:, None], rate=r[:, None], base=b[:, None],
        skew=s[:, None],
    )  # fmt: skip
    gap = np.where(valid, np.abs(deltas - target[:, None]), np.inf)
    by_delta = lattice[np.arange(len(f)), np.argmin(gap, axis=1)]
    by_points = np.ceil((f + otm) / grid - 1e-9) * grid
    return np.asarray(np.where(otm > 0, by_points, by_delta).reshape(shape), dtype=np.float64)
