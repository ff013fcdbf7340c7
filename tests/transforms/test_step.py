"""Today's book on the real history: as of the last session every input holds, nothing
expired shown open, R^2 and break-evens as the backtest reports them, and next-session
actions that are the engine's own (they match what the backtest did on days whose
trades the calendar decides)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from transforms.backtest.params import BacktestParams
from transforms.backtest.run import Inputs, backtest
from transforms.backtest.step import as_of_bound, book_today, held_over, inputs_digest

DEFAULT = BacktestParams(start_date=date(2020, 1, 2))  # the default book, from 2020


@pytest.fixture(scope="module")
def sessions(backtest_inputs: Inputs) -> list[date]:
    cal = backtest_inputs.calendar.filter(pl.col("nyse_open")).sort("date")
    return cal["date"].to_list()


def _next(sessions: list[date], day: date) -> date:
    return next(d for d in sessions if d > day)


def test_the_as_of_session_is_the_last_every_required_input_holds(
    backtest_inputs: Inputs,
) -> None:
    b = as_of_bound(backtest_inputs)
    vx = backtest_inputs.vx.filter(pl.col("contract_type") == "monthly")["trade_date"].max()
    spx = backtest_inputs.signals.filter(pl.col("spx_close").is_not_null())["date"].max()
    vix = backtest_inputs.signals.filter(pl.col("vix_close").is_not_null())["date"].max()
    assert b.last == {"SPX": spx, "VIX": vix, "VX futures": vx}
    assert b.as_of == min(spx, vix, vx)  # type: ignore[type-var]
    assert b.bounded_by == min(b.last, key=lambda k: b.last[k])


def test_todays_book_is_todays(backtest_inputs: Inputs, sessions: list[date]) -> None:
    b = as_of_bound(backtest_inputs)
    nxt = _next(sessions, b.as_of)
    today = book_today(backtest_inputs, DEFAULT, next_session=nxt, fomc_next=False)
    assert today.bound.as_of == b.as_of and today.ruin_date is None
    # the backtest the CLI runs, to the same day: its R^2 and break-evens, independently
    run = backtest(backtest_inputs, replace(DEFAULT, end_date=b.as_of))
    m = run.metrics.row(0, named=True)
    assert today.break_evens == (m["break_even_low"], m["break_even_high"])
    assert today.r2 == pytest.approx(run.daily["r2_60"][-1], abs=1e-12)
    assert today.equity == pytest.approx(m["final_equity"], rel=1e-12)
    assert today.condor is not None and today.condor.expiry > b.as_of  # nothing expired
    condors = today.positions.filter(pl.col("sleeve") == "condor")
    assert condors.height == 1 and condors["quantity"][0] == -today.condor.lots
    assert str(today.condor.expiry) in condors["instrument"][0]
    for key in ("delta", "gamma", "theta"):  # no "-0"
        assert str(today.greeks[key]) != "-0.0"


def test_the_next_sessions_actions_are_the_engines(
    backtest_inputs: Inputs, sessions: list[date]
) -> None:
    """A condor entry (the week's first session) and a ladder roll (roll_days before the
    front expiry) are decided by the calendar: stepping the book at unchanged prices calls
    them on the very session the full backtest made them, for the same contracts."""
    p = replace(DEFAULT, start_date=date(2018, 1, 2), end_date=date(2019, 12, 31))
    full = backtest(backtest_inputs, p).trades
    roll = full.filter(pl.col("action") == "roll_out")["date"][3]
    opened = full.filter((pl.col("sleeve") == "condor") & (pl.col("action") == "open"))
    entry = opened["date"][5]
    for day in (roll, entry):
        before = max(d for d in sessions if d < day)
        today = book_today(
            backtest_inputs,
            replace(p, end_date=None),
            next_session=day,
            fomc_next=False,
            as_of=before,
        )
        done = full.filter(pl.col("date") == day)
        called = today.actions
        for action in ("roll_out", "roll_in"):
            assert set(called.filter(pl.col("action") == action)["instrument"]) == set(
                done.filter(pl.col("action") == action)["instrument"]
            )
        assert (called["action"] == "open").any() == (done["action"] == "open").any()
        if day == entry:
            ours = called.filter((pl.col("sleeve") == "condor") & (pl.col("action") == "open"))
            theirs = done.filter((pl.col("sleeve") == "condor") & (pl.col("action") == "open"))
            assert ours["instrument"][0].split()[2] == theirs["instrument"][0].split()[2]


def test_a_ruined_book_says_so_and_holds_nothing(
    backtest_inputs: Inputs, sessions: list[date]
) -> None:
    # 50 lots, 50-point wings, spreads three times the fitted ones: ruined
    seeds = replace(DEFAULT, margin_target=0.0, wing_pct=0.0, spx_spread_scale=3.0)
    b = as_of_bound(backtest_inputs)
    today = book_today(
        backtest_inputs, seeds, next_session=_next(sessions, b.as_of), fomc_next=False
    )
    assert today.ruin_date is not None and today.ruin_date < b.as_of
    assert today.positions.is_empty() and today.actions.is_empty()
    assert today.condor is None and today.break_evens is None


def test_the_held_over_session_invents_no_price(backtest_inputs: Inputs) -> None:
    day, nxt = date(2020, 3, 13), date(2020, 3, 16)
    held = held_over(backtest_inputs, as_of=day, next_session=nxt, fomc=True)
    a = held.signals.filter(pl.col("date") == day).drop("date", "week_start", "fomc_day")
    b = held.signals.filter(pl.col("date") == nxt).drop("date", "week_start", "fomc_day")
    assert a.equals(b)
    assert held.signals.filter(pl.col("date") == nxt)["week_start"][0]  # a Monday
    spx = held.spx.filter(pl.col("date") == nxt).row(0, named=True)
    assert spx["open"] == spx["close"] == held.spx.filter(pl.col("date") == day)["close"][0]
    vx_day = held.vx.filter((pl.col("trade_date") == day) & (pl.col("expiry") > day))
    vx_next = held.vx.filter(pl.col("trade_date") == nxt)
    assert vx_next["settle"].to_list() == vx_day["settle"].to_list()
    assert held.signals["date"].max() == nxt  # nothing after it
    assert inputs_digest(held, as_of=day) == inputs_digest(backtest_inputs, as_of=day)
