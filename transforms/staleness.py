"""Whether each input is current for the session a daily run is for.

Thresholds by kind of input:

* **daily** series are expected through the session itself (the run comes after the
  close), less a publication lag in sessions: the 3-month T-bill (FRED DTB3) is
  published the next business day, so one session;
* **monthly** CPI and PPI are expected through the latest reference month public by the
  session: for CPI its BLS release date where listed, else (and for PPI) the lag rule of
  :mod:`transforms.macro` (month M public from the end of month M + 1);
* the **FOMC calendar** is a schedule: current while it lists a scheduled meeting at
  least :data:`transforms.quality.FOMC_HORIZON_DAYS` after the session.

A **required** input bounds every book (a book is computed only to the last session on
which all of them exist, :func:`transforms.backtest.market.inputs_last`); a stale
**optional** input switches off what depends on it for the sessions it lacks (breadth:
the breadth scaler; VVIX: the calls' vol of vol falls back to its parameter; VIX3M: the
smile's term interpolation), as the ``effect`` column says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from transforms.macro import ReleaseLag
from transforms.quality import FOMC_HORIZON_DAYS


@dataclass(frozen=True)
class Input:
    name: str
    kind: str  # daily, monthly or schedule
    required: bool
    effect: str  # what a stale value means for a book
    lag_sessions: int = 0  # daily: sessions the publisher takes


INPUTS: tuple[Input, ...] = (
    Input("SPX", "daily", True, "books end at its last date"),
    Input("VIX", "daily", True, "books end at its last date"),
    Input("VX futures", "daily", True, "books end at its last date"),
    Input("VIX3M", "daily", False, "the smile prices without its term slope after it"),
    Input("VVIX", "daily", False, "VIX calls use the vol_of_vol parameter after it"),
    Input("T-bill 3m", "daily", False, "the rate is carried forward after it", lag_sessions=1),
    Input("breadth", "daily", False, "the breadth scaler is off after it"),
    Input("CPI", "monthly", False, "the CPI-PPI z-score keeps its last print"),
    Input("PPI", "monthly", False, "the CPI-PPI z-score keeps its last print"),
    Input("FOMC calendar", "schedule", False, "the FOMC rule sees no meeting after it"),
)
SCHEMA = {
    "input": pl.String(),
    "kind": pl.String(),
    "required": pl.Boolean(),
    "last": pl.Date(),
    "expected": pl.Date(),
    "stale": pl.Boolean(),
    "effect": pl.String(),
}


LAG = ReleaseLag()


def latest_public_month(
    session: date, *, release_dates: pl.DataFrame | None = None, lag: ReleaseLag = LAG
) -> date:
    """The latest reference month whose print is public by ``session``: by the listed
    release dates (``reference_month``, ``release_date``) where one is listed on or
    before the session and later than the lag rule's month, else by the lag rule."""
    month = date(session.year, session.month, 1)
    for _ in range(lag.months_after + 2):  # the lag rule's latest month
        end = pl.select(lag.public_date(pl.lit(month))).item()
        if end <= session:
            break
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    if release_dates is not None and release_dates.height:
        listed = release_dates.filter(pl.col("release_date") <= session)["reference_month"].max()
        if isinstance(listed, date) and listed > month:
            month = listed
    return month


def input_staleness(
    last: dict[str, date | None],
    *,
    session: date,
    sessions: list[date],
    release_dates: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per input of :data:`INPUTS`: its ``last`` date (a monthly input's last
    reference month, the FOMC calendar's last scheduled meeting; None: no row), the date
    it is expected to reach for ``session`` (``sessions``: the exchange's, in order), and
    whether it is stale. ``release_dates`` (release, reference_month, release_date): a
    monthly input is expected by the dates of the release of its name."""
    before = [d for d in sessions if d <= session]
    rows = []
    for item in INPUTS:
        if item.kind == "daily":
            k = max(len(before) - 1 - item.lag_sessions, 0)
            expected = before[k] if before else session
        elif item.kind == "monthly":
            listed = (
                release_dates.filter(pl.col("release") == item.name)
                if release_dates is not None
                else None
            )
            expected = latest_public_month(session, release_dates=listed)
        else:
            expected = date.fromordinal(session.toordinal() + FOMC_HORIZON_DAYS)
        value = last.get(item.name)
        rows.append(
            {
                "input": item.name,
                "kind": item.kind,
                "required": item.required,
                "last": value,
                "expected": expected,
                "stale": value is None or value < expected,
                "effect": item.effect,
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)
