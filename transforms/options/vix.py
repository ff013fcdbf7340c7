"""VIX options: Black-76 on the VX future of the same expiry, with a VVIX-driven smile.

* Base vol: VVIX / 100 where VVIX printed that day, else ``vol_of_vol`` (VVIX starts in
  2006 and has gaps). VVIX is the 30-day implied vol of VIX options, so it is used as
  the at-the-money level of the front series.
* Call skew (VIX smiles slope upward): ``vol(K) = base x max(1 + skew ln(K / F), 0.5)``.
* Listed strikes on a ``grid``-point lattice (1 point, the common listing for the
  strikes a hedge buys).

Everything is vectorised across configurations: a sweep prices thousands of strikes of
one series per day in one call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from transforms.options.black import black76

Array = NDArray[np.float64]


def base_vol(vvix: float, *, vol_of_vol: ArrayLike) -> Array:
    """The series' ATM vol: VVIX where present, else the parameter."""
    fallback = np.asarray(vol_of_vol, dtype=np.float64)
    return fallback if not np.isfinite(vvix) else np.full_like(fallback, vvix / 100.0)


def call_vol(*, strike: ArrayLike, forward: float, base: ArrayLike, skew: ArrayLike) -> Array:
    k = np.asarray(strike, dtype=np.float64)
    factor = np.maximum(1.0 + np.asarray(skew) * np.log(k / forward), 0.5)
    return np.asarray(np.asarray(base) * factor, dtype=np.float64)


def call_value(
    *,
    strike: ArrayLike,
    forward: float,
    t: float,
    rate: float,
    base: ArrayLike,
    skew: ArrayLike,
) -> tuple[Array, Array]:
    """(price, delta) of calls on the future; intrinsic value once ``t`` <= 0."""
    k = np.asarray(strike, dtype=np.float64)
    if t <= 0:
        return np.maximum(forward - k, 0.0), (forward > k).astype(np.float64)
    g = black76(
        forward=forward,
        strike=k,
        t=t,
        rate=rate,
        vol=call_vol(strike=k, forward=forward, base=base, skew=skew),
        is_call=True,
    )
    return g.price, g.delta


def call_strike(
    *,
    forward: float,
    t: float,
    rate: float,
    base: ArrayLike,
    skew: ArrayLike,
    target_delta: ArrayLike,
    otm_points: ArrayLike,
    grid: float = 1.0,
) -> Array:
    """Listed strike per configuration: nearest ``target_delta`` on the grid, or the
    first strike at least ``otm_points`` above the future where that is positive."""
    target = np.atleast_1d(np.asarray(target_delta, dtype=np.float64))
    shape = target.shape
    b = np.broadcast_to(np.asarray(base, dtype=np.float64), shape)
    s = np.broadcast_to(np.asarray(skew, dtype=np.float64), shape)
    otm = np.broadcast_to(np.asarray(otm_points, dtype=np.float64), shape)
    lattice = np.arange(np.floor(0.5 * forward / grid), np.ceil(4 * forward / grid) + 1) * grid
    lattice = lattice[lattice > 0]
    out = np.empty(shape)
    # Configurations share few (base, skew) pairs: one delta ladder per pair.
    pairs = np.stack([b, s], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    for u, (bu, su) in enumerate(uniq):
        _, deltas = call_value(strike=lattice, forward=forward, t=t, rate=rate, base=bu, skew=su)
        rows = np.flatnonzero(inverse.ravel() == u)
        pick = np.argmin(np.abs(deltas[None, :] - target[rows, None]), axis=1)
        out[rows] = lattice[pick]
    by_points = np.ceil((forward + otm) / grid - 1e-9) * grid
    return np.where(otm > 0, by_points, out)
