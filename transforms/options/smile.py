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

from transforms.calibration import FITTED


@dataclass(frozen=True)
class SmileParams:
    atm_ratio: float = FITTED.smile_atm_ratio
    put_skew: float = FITTED.smile_put_skew
    call_skew: float = FITTED.smile_call_skew
    floor: float = 0.5


def atm_vol(
    *, vix: float, vix3m: float | None, days: float, params: SmileParams = SmileParams()
) -> float:
    """ATM implied vol (decimal) for ``days`` calendar days to expiry."""
    near = params.atm_ratio * vix / 100.0
    if vix3m is None or not np.isfinite(vix3m):
        return near
    far = params.atm_ratio * vix3m / 100.0
    if days <= 30:
        return near
    if days >= 93:
        return far
    w = (days - 30) / (93 - 30)
    total = (1 - w) * near * near * 30 + w * far * far * 93
    return float(np.sqrt(total / days))


def spx_smile_vol(
    *,
    strike: float,
    forward: float,
    days: float,
    vix: float,
    vix3m: float | None,
    params: SmileParams = SmileParams(),
) -> float:
    """Implied vol (decimal) of an SPX option with ``strike`` and ``days`` to expiry."""
    atm = atm_vol(vix=vix, vix3m=vix3m, days=days, params=params)
    x = np.log(strike / forward) / (atm * np.sqrt(days / 365.0))
    skewed = atm * (1 + params.put_skew * max(0.0, -x) - params.call_skew * max(0.0, x))
    return float(max(skewed, params.floor * atm))
