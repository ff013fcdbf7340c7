"""One calibration of the option models, shared by the backtest and the replication.

Every model parameter that is fitted to data is fitted here, on a fixed early window,
and the backtest's defaults are these fitted values (:data:`FITTED`), identified by
:attr:`Calibration.id`, which every backtest and sweep stores with its results.

* ``smile_atm_ratio`` 0.92: Cboe PUT month-ends 2004-01..2011-12, the replica's mean
  monthly log-return error nearest zero (:func:`fit_atm_ratio`);
* ``smile_put_skew`` 0.26, ``smile_call_skew`` 0.18: the SPX chain of 2011-01-03..07,
  0.15-delta and ATM strikes, least squares (the smile's shape, :mod:`~transforms.options.smile`);
* ``vix_call_skew`` 0.90: VXTH's quoted call mids 2006-2012, least RMSE
  (:func:`fit_vix_call_skew`);
* SPX half-spreads: quotes of four eras, 2004-01-02..2019-07-17 (:mod:`transforms.options.costs`;
  ``alvh calibrate`` re-fits it and stores each term and each sample's error in
  ``results.calibrations``).

The replication re-fits the ATM ratio and the call skew from the data on every run and
reports whether they still equal these stored values (``results.replication_runs.fitted``).

Used out of sample: the level fits end in 2011 (ATM ratio) and 2012 (call skew), the
spread model's last quotes are of 2019-07-17, so results from 2019-07-18 on are out of
every fit's sample; earlier sessions are in at least one, which the walk-forward's fold
rows flag (``calibration_in_sample``). The spread model prices each day with the eras
known on it (:meth:`~transforms.options.costs.SpreadModel.era`), never a later one. The chain's own
week prefers an ATM ratio of 0.84 (0.92 is about one vol point rich there at 0.15 delta):
one week in a calm January against eight years of realised PUT returns; the ATM ratio
and the call skew are parameters, so that uncertainty can be swept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np

from transforms.options.costs import SPREAD_MODEL, SpreadModel

ATM_GRID = tuple(float(x) for x in np.round(np.arange(0.70, 1.1001, 0.02), 2))
SKEW_GRID = tuple(float(x) for x in np.round(np.arange(0.0, 2.0001, 0.01), 2))


@dataclass(frozen=True)
class Calibration:
    smile_atm_ratio: float = 0.92
    smile_put_skew: float = 0.26
    smile_call_skew: float = 0.18
    vix_call_skew: float = 0.90
    spread: SpreadModel | None = SPREAD_MODEL  # None: a flat per-leg half-spread
    windows: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "smile_atm_ratio": ("2004-01-01", "2011-12-31"),
            "smile_skews": ("2011-01-03", "2011-01-07"),
            "vix_call_skew": ("2006-01-01", "2012-12-31"),
            "spread": ("2004-01-02", "2019-07-17"),
        }
    )

    @property
    def id(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return "cal-" + hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def last_fitted(self) -> date:
        """The last day any of the fits saw."""
        return max(date.fromisoformat(b) for _, b in self.windows.values())


FITTED = Calibration()


MODEL_FIELDS = ("smile_atm_ratio", "smile_put_skew", "smile_call_skew", "vix_call_skew")
CALIBRATED_FIELDS = (*MODEL_FIELDS, "spx_spread_model")
"""The parameters a run's calibration id depends on."""


def calibration_id(values: dict[str, object]) -> str:
    """The calibration a run used: :data:`FITTED`'s id when ``values`` (its parameters)
    hold the fitted model parameters and the fitted spread model is on, else the id of
    the calibration its values make (prefixed ``custom``)."""
    own = Calibration(
        **{k: float(values[k]) for k in MODEL_FIELDS},  # type: ignore[arg-type]
        spread=SPREAD_MODEL if values.get("spx_spread_model", True) else None,
    )
    return FITTED.id if own == FITTED else "custom-" + own.id


def fit_atm_ratio(error: Callable[[float], float], grid: tuple[float, ...] = ATM_GRID) -> float:
    """The ratio on ``grid`` whose ``error`` (e.g. a replica's mean return error on the
    calibration window) is nearest zero; the lowest wins a tie."""
    return grid[int(np.argmin([abs(error(r)) for r in grid]))]


def fit_vix_call_skew(rmse: Callable[[float], float], grid: tuple[float, ...] = SKEW_GRID) -> float:
    """The call skew on ``grid`` with the least ``rmse``; the lowest wins a tie."""
    return grid[int(np.argmin([rmse(s) for s in grid]))]
