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

Defaults are a least-squares fit to the iVolatility SPX chain sample (2011-01-03..07,
expiries of 42-102 days, ATM and 0.15-delta strikes), so they are in-sample there.
Deviation from the methodology's c = 0.9: that value fits only a flat VIX-only ATM; with
the VIX3M term interpolation the chain's ATM / index ratio is 0.83-0.86 across 46-102
days (0.9 x VIX would be 1.5-2.5 vol points rich at 74-102 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SmileParams:
    atm_ratio: float = 0.84
    put_skew: float = 0.26
    call_skew: float = 0.18
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
