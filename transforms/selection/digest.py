"""Digests of daily return series: equal series (to 1e-12), equal digests.

Configurations whose daily returns are identical (a band that does nothing without the
controller, say) are one trial of the deflated Sharpe ratio (:mod:`.dsr`). The engine
folds :func:`hash_step` into each configuration's digest session by session, so a sweep
never keeps the series to hash them.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

HASH_SEED = np.uint64(0x243F6A8885A308D3)
_NAN_WORD = np.uint64(0x7FF8000000000000)
_WIDE = np.uint64(0x5555555555555555)


@numba.njit(cache=True, inline="always")
def hash_step(h: np.uint64, value: float) -> np.uint64:
    """Fold one daily value, rounded to 1e-12 (every NaN alike), into a series' 64-bit
    hash (the value's integer count of 1e-12, mixed by splitmix64's finaliser)."""
    scaled = value * 1e12
    if not math.isfinite(scaled):
        v = _NAN_WORD
    elif abs(scaled) < 9.0e18:
        v = np.uint64(np.int64(np.rint(scaled)))
    else:  # beyond an integer count: whole units
        v = np.uint64(np.int64(value)) ^ _WIDE
    z = (h ^ v) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def hex_digests(hashes: NDArray[np.uint64]) -> list[str]:
    return [f"{int(h):016x}" for h in hashes]
