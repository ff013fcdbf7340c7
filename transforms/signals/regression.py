"""Rolling OLS of many return series on one regressor, vectorised.

For each day t and series j, the regression ``y_j = alpha + beta x + e`` over the
``window`` observations ending at t (inclusive), from rolling sums:

    beta  = (n Sxy - Sx Sy) / (n Sxx - Sx^2)
    alpha = (Sy - beta Sx) / n                         (per-period intercept)
    R^2   = (n Sxy - Sx Sy)^2 / ((n Sxx - Sx^2)(n Syy - Sy^2))

A window containing a missing value (NaN in x or y) gives NaN. Series are processed in
chunks so memory stays bounded for thousands of series; values equal statsmodels OLS on
the same window to ~1e-12.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class RollingOls:
    """Per-day results, each of shape (days, series)."""

    alpha: Array
    beta: Array
    r2: Array


def _window_sums(values: Array, window: int) -> Array:
    """Sum over the trailing ``window`` rows (NaN for the first window - 1 rows)."""
    cum = np.cumsum(values, axis=0)
    out = np.full_like(cum, np.nan)
    out[window - 1] = cum[window - 1]
    out[window:] = cum[window:] - cum[:-window]
    return out


def rolling_ols(y: Array, x: Array, *, window: int = 60, chunk: int = 1000) -> RollingOls:
    """Rolling OLS of each column of ``y`` (days x series) on ``x`` (days)."""
    if y.ndim == 1:
        y = y[:, None]
    days, series = y.shape
    if x.shape != (days,):
        raise ValueError(f"x has shape {x.shape}, expected ({days},)")
    if not 2 <= window <= days:
        raise ValueError(f"window {window} must be within [2, {days}]")
    alpha, beta, r2 = (np.full((days, series), np.nan) for _ in range(3))
    x_ok = ~np.isnan(x)
    x0 = np.where(x_ok, x, 0.0)
    # Windows are shared by every series where nothing is missing: x's sums once.
    x_sums = (_window_sums(x0[:, None], window), _window_sums((x0 * x0)[:, None], window))
    x_full = _window_sums(x_ok.astype(np.float64)[:, None], window) == window
    for lo in range(0, series, chunk):
        hi = min(lo + chunk, series)
        yc = y[:, lo:hi]
        if x_ok.all() and not np.isnan(yc).any():
            ym = yc
            sx, sxx = x_sums
            full = np.broadcast_to(x_full, yc.shape)
            sxy = _window_sums(x0[:, None] * ym, window)
        else:
            ok = x_ok[:, None] & ~np.isnan(yc)
            xm = np.where(ok, x0[:, None], 0.0)
            ym = np.where(ok, yc, 0.0)
            sx, sxx = _window_sums(xm, window), _window_sums(xm * xm, window)
            sxy = _window_sums(xm * ym, window)
            full = _window_sums(ok.astype(np.float64), window) == window
        sy, syy = _window_sums(ym, window), _window_sums(ym * ym, window)
        cov = window * sxy - sx * sy
        var_x = window * sxx - sx * sx
        var_y = window * syy - sy * sy
        with np.errstate(divide="ignore", invalid="ignore"):
            b = cov / var_x
            alpha[:, lo:hi] = np.where(full, (sy - b * sx) / window, np.nan)
            beta[:, lo:hi] = np.where(full, b, np.nan)
            r2[:, lo:hi] = np.where(full, cov * cov / (var_x * var_y), np.nan)
    return RollingOls(alpha=alpha, beta=beta, r2=r2)
