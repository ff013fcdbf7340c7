"""Report figures without the warehouse: the Pareto front, the sweep page's handling of
ruined configurations, and the display formats."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import polars as pl

from transforms.backtest.metrics import METRICS
from transforms.backtest.params import BacktestParams
from transforms.report.formats import DOLLARS, PERCENT, RATIO, UNITS, fmt
from transforms.report.sweep import pareto_front, sweep_page


def test_pareto_front_equals_the_brute_force_definition() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=300), rng.normal(size=300)
    brute = np.array(
        [not np.any((x >= x[k]) & (y >= y[k]) & ((x > x[k]) | (y > y[k]))) for k in range(300)]
    )
    assert np.array_equal(pareto_front(x, y), brute)


def _results(ruined: list[int]) -> pl.DataFrame:
    n = len(ruined)
    rng = np.random.default_rng(2)
    return pl.DataFrame(
        {
            "config_hash": [f"c{k}" for k in range(n)],
            "hedge_ratio": [0.1 * (k % 3) for k in range(n)],
            "band_low": [0.45] * n,
            "band_high": [0.65] * n,
            "lots": [BacktestParams().lots if k % 2 else 10 for k in range(n)],
            "ruined": [float(r) for r in ruined],
            "sharpe": rng.normal(size=n),
            "time_in_band": rng.uniform(size=n),
            "sharpe_out_of_sample": rng.normal(size=n),
            "hedge_cost_flat": rng.normal(size=n) / 100,
        }
    )


def test_a_sweep_page_leaves_ruined_configurations_out_unless_all_are() -> None:
    some = sweep_page(record={"sweep_id": "s"}, results=_results([0, 1, 0, 1, 0, 0]))
    assert some.notes == ["2 of 6 configurations were ruined: not shown"]
    assert len(some.sharpes) == 4 and some.heatmaps["sharpe"].height == 1
    assert some.top["differs_from_defaults"][0].startswith(("lots=10", "hedge_ratio"))
    every = sweep_page(record={"sweep_id": "s"}, results=_results([1, 1, 1]))
    assert "every configuration (3) was ruined" in every.notes[0]
    assert len(every.sharpes) == 3
    one = sweep_page(record={"sweep_id": "s"}, results=_results([0]))
    assert "a sweep of one configuration" in one.notes[0]


def test_every_metric_has_a_unit_and_formats_read_as_on_the_page() -> None:
    assert set(UNITS) == set(METRICS)
    assert fmt(0.1234, PERCENT) == "12.3 %"
    assert fmt(1234567.8, DOLLARS) == "1,234,568"
    assert fmt(0.5, RATIO) == "0.50" and fmt(0.0123, RATIO) == "0.0123"
    assert fmt(float("nan"), RATIO) == fmt(None, RATIO) == "n/a"


def test_the_ladder_roll_is_called_on_the_session_the_engine_rolls() -> None:
    """A VX contract leaves the ladder once it is roll_days or fewer sessions from its
    expiry (transforms.backtest.market.ladder_months); today's book calls the roll on
    that session only."""
    from datetime import date, timedelta

    from transforms.report.today import _actions

    params = {**asdict(BacktestParams()), "roll_days": 5}
    as_of = date(2026, 1, 7)  # a Wednesday
    sessions = [
        as_of + timedelta(days=k) for k in range(1, 40) if (as_of + timedelta(days=k)).weekday() < 5
    ]
    last = {"hedge_ratio": 0.2, "r2_60": 0.9}

    def actions(expiry: date) -> list[str]:
        frame = _actions(params=params, last=last, condor=None, nxt=sessions[0], fomc=set(),
                         sessions=sessions, as_of=as_of, expiries=[expiry])  # fmt: skip
        return frame["action"].to_list()

    # expiry on the 7th session ahead: 6 sessions after the next one -> not yet
    assert "roll the VX ladder" not in actions(sessions[6])
    assert "roll the VX ladder" in actions(sessions[5])  # 5 after the next one: rolls
    assert "roll the VX ladder" not in actions(sessions[4])  # already out of the ladder
