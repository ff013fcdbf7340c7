"""The SPX implied-volatility smile, driven by that day's VIX (and VIX3M where present).

One documented, swappable function: :func:`spx_smile_vol` (a real option chain, where a
user has one, replaces it by supplying its own ``vol_at``).

* ATM level: ``atm_ratio`` x VIX for 30 calendar days (VIX is a 30-day variance swap
  rate, above ATM vol by the skew premium). With VIX3M, the ATM total variance is
  interpolated linearly in days between (30, (c VIX)^2) and (93, (c VIX3M)^2), flat in
  vol outside that range; without it, flat c x VIX.
* Skew in standardised moneyness ``x = ln(K / F) / (sigma_atm sqrt(T))``:
  ``sigma = sigma_atm (1 + put_skew max(0, -x) - call_skew max(0, x))``, floored at
  ``floor x sigma_atm``. Puts (x < 0) get richer, calls cheaper: the SPX skew.

Defaults are the shared calibration's (:mod:`transforms.calibration`): the skews are a
least-squares fit to the iVolatility SPX chain sample (2011-01-03..07, expiries of
42-102 days, ATM and 0.15-delta strikes); the ATM ratio 0.92 is fitted on Cboe PUT's
2004-2011 returns. That week's chain alone puts the ATM / index ratio at 0.83-0.86
across 46-102 days with the VIX3M term interpolation (the methodology's c = 0.9 fits
only a flat VIX-only ATM).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from transforms.calibration import FITTED

Array = NDArray[np.float64]


@dataclass(frozen=True)
class SmileParams:
    atm_ratio: float = FITTED.smile_atm_ratio
    put_skew: float = FITTED.smile_put_skew
    call_skew: float = FITTED.smile_call_skew
    floor: float = 0.5


def _max(a: ArrayLike, b: ArrayLike) -> Array:
    """Python's ``max(a, b)`` elementwise: ``b`` where it is greater, else ``a``."""
    return np.asarray(np.where(np.greater(b, a), b, a), dtype=np.float64)


def atm_vol(
    *, vix: ArrayLike, vix3m: ArrayLike | None, days: ArrayLike, params: SmileParams = SmileParams()
) -> Array:
    """ATM implied vol (decimal) for ``days`` calendar days to expiry (broadcasting; a
    missing or non-finite VIX3M is no VIX3M)."""
    near = params.atm_ratio * np.asarray(vix, dtype=np.float64) / 100.0
    far = params.atm_ratio * np.asarray(np.nan if vix3m is None else vix3m, np.float64) / 100.0
    d = np.asarray(days, dtype=np.float64)
    w = (d - 30) / (93 - 30)
    total = (1 - w) * near * near * 30 + w * far * far * 93
    with np.errstate(invalid="ignore"):  # outside (30, 93) days the blend is not used
        blend = np.sqrt(total / d)
    return np.asarray(
        np.where(~np.isfinite(far) | (d <= 30), near, np.where(d >= 93, far, blend)), np.float64
    )


def spx_smile_vol(
    *,
    strike: ArrayLike,
    forward: ArrayLike,
    days: ArrayLike,
    vix: ArrayLike,
    vix3m: ArrayLike | None,
    params: SmileParams = SmileParams(),
) -> Array:
    """Implied vol (decimal) of an SPX option with ``strike`` and ``days`` to expiry
    (broadcasting: one strike or a session's legs over many sessions)."""
    atm = atm_vol(vix=vix, vix3m=vix3m, days=days, params=params)
    d = np.asarray(days, dtype=np.float64)
    k, f = np.asarray(strike, np.float64), np.asarray(forward, np.float64)
    x = np.log(k / f) / (atm * np.sqrt(d / 365.0))
    skewed = atm * (1 + params.put_skew * _max(0.0, -x) - params.call_skew * _max(0.0, x))
    return _max(skewed, params.floor * atm)
