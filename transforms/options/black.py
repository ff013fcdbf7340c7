"""European option maths on a forward: Black-Scholes (SPX) and Black-76 (VIX options).

Everything is vectorised over numpy arrays (broadcasting), in these units:

* time ``t`` in years (ACT/365 calendar days / 365), rates continuously compounded
  decimals (``rate`` = r, ``div_yield`` = q), volatility a decimal per sqrt(year);
* Black-Scholes prices an option on spot S with forward ``F = S exp((r - q) t)``;
  Black-76 prices an option on a futures price F (VIX options on the VX future of the
  same expiry). Both discount with ``exp(-r t)``: price = DF [F N(d1) - K N(d2)] for a call;
* delta is per unit of the underlying (spot for BS, future for Black-76), gamma per unit
  squared, vega per vol point (0.01), theta per calendar day (price change of one day
  passing, negative for a long option).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, ndtri

Array = NDArray[np.float64]
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _pdf(x: Array) -> Array:
    return np.asarray(np.exp(-0.5 * x * x) / _SQRT_2PI, dtype=np.float64)


def _d1_d2(forward: Array, strike: Array, t: Array, vol: Array) -> tuple[Array, Array]:
    sd = vol * np.sqrt(t)
    d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
    return d1, d1 - sd


@dataclass(frozen=True)
class Greeks:
    price: Array
    delta: Array
    gamma: Array
    vega: Array  # per vol point
    theta: Array  # per calendar day


def black76(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-76 price and greeks of European options on a futures price."""
    f, k, tt, r, v = (np.asarray(a, dtype=np.float64) for a in (forward, strike, t, rate, vol))
    df, sign, d1, d2 = _terms(f, k, tt, r, v, is_call=is_call)
    price = df * sign * (f * ndtr(sign * d1) - k * ndtr(sign * d2))
    delta = df * sign * ndtr(sign * d1)
    gamma = df * _pdf(d1) / (f * v * np.sqrt(tt))
    vega = df * f * _pdf(d1) * np.sqrt(tt)
    theta_year = -df * f * _pdf(d1) * v / (2 * np.sqrt(tt)) + r * price
    return Greeks(price, delta, gamma, vega / 100.0, theta_year / 365.0)


def _terms(
    f: Array, k: Array, tt: Array, r: Array, v: Array, *, is_call: ArrayLike
) -> tuple[Array, Array, Array, Array]:
    """Black-76's discount factor, sign (+1 call, -1 put), d1 and d2."""
    d1, d2 = _d1_d2(f, k, tt, v)
    return np.exp(-r * tt), np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0), d1, d2


def black76_delta(
    *,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Array:
    """:func:`black76`'s delta alone, the same numbers (what a strike search reads)."""
    f, k, tt, r, v = (np.asarray(a, dtype=np.float64) for a in (forward, strike, t, rate, vol))
    df, sign, d1, _ = _terms(f, k, tt, r, v, is_call=is_call)
    return np.asarray(df * sign * ndtr(sign * d1), dtype=np.float64)


def black_scholes(
    *,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    vol: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Black-Scholes price and greeks (spot delta and gamma) with a dividend yield."""
    s, tt, r, q = (np.asarray(a, dtype=np.float64) for a in (spot, t, rate, div_yield))
    growth = np.exp((r - q) * tt)
    on_forward = black76(forward=s * growth, strike=strike, t=tt, rate=r, vol=vol, is_call=is_call)
    # dF/dS = exp((r - q) t); theta on spot: d/dt at fixed S adds the forward's drift.
    delta = on_forward.delta * growth
    gamma = on_forward.gamma * growth * growth
    forward_drift = (r - q) * s * growth * on_forward.delta
    theta = on_forward.theta - forward_drift / 365.0
    return Greeks(on_forward.price, delta, gamma, on_forward.vega, theta)


def implied_vol(
    *,
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
    low: float = 1e-4,
    high: float = 5.0,
    tol: float = 1e-12,
) -> Array:
    """Black-76 implied volatility by bisection (vectorised; NaN outside no-arbitrage bounds).

    For a Black-Scholes quote pass ``forward = S exp((r - q) t)``.
    """
    p, f, k, tt, r = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (price, forward, strike, t, rate))
    )
    call = np.broadcast_to(np.asarray(is_call, dtype=bool), p.shape)
    df = np.exp(-r * tt)
    intrinsic = df * np.maximum(np.where(call, f - k, k - f), 0.0)
    upper = df * np.where(call, f, k)
    lo, hi = np.full(p.shape, low), np.full(p.shape, high)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        value = black76(forward=f, strike=k, t=tt, rate=r, vol=mid, is_call=call).price
        above = value > p
        hi = np.where(above, mid, hi)
        lo = np.where(above, lo, mid)
        if np.all(hi - lo < tol):
            break
    out = 0.5 * (lo + hi)
    return np.where((p > intrinsic) & (p < upper), out, np.nan)


def strike_for_delta(
    *,
    target: float,
    forward: float,
    t: float,
    rate: float,
    vol_at: Callable[[Array], ArrayLike],
    growth: float = 1.0,
    grid: float = 5.0,
) -> float:
    """Listed strike (multiple of ``grid``) whose delta is nearest ``target``.

    ``target`` is a signed delta (negative for puts); ``vol_at(strikes)`` gives the
    implied vol of each strike (the smile); ``growth`` converts a forward delta to the
    quoted one (``exp((r - q) t)`` for Black-Scholes spot delta, 1 for Black-76). The
    smile makes the inversion a fixed point: three rounds from the ATM vol, then the
    nearest grid strikes are compared directly.
    """
    is_call = target > 0
    df = float(np.exp(-rate * t))
    fwd_delta = abs(target) / (df * growth)
    k = forward
    for _ in range(3):
        v = float(np.asarray(vol_at(np.asarray(k, dtype=np.float64)), dtype=np.float64))
        d1 = float(ndtri(fwd_delta)) * (1 if is_call else -1)
        k = forward * float(np.exp(-d1 * v * np.sqrt(t) + 0.5 * v * v * t))
    candidates = np.array([np.floor(k / grid) * grid + i * grid for i in (-2, -1, 0, 1, 2, 3)])
    vols = np.asarray(vol_at(candidates), dtype=np.float64)
    deltas = black76_delta(
        forward=forward, strike=candidates, t=t, rate=rate, vol=vols, is_call=is_call
    )
    return float(candidates[np.argmin(np.abs(deltas * growth - target))])
