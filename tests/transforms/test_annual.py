"""Annualisation, growth and drawdown: one definition, checked on worked numbers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from transforms.annual import cagr, drawdowns, max_drawdown, years_between


def test_growth_over_calendar_years_and_a_ruined_book() -> None:
    years = years_between(date(2020, 1, 1), date(2022, 1, 1))
    assert years == pytest.approx(731 / 365.25)
    assert years_between(np.datetime64("2020-01-01"), np.datetime64("2022-01-01")) == years
    rates = cagr(np.array([1.21, 0.0, -0.2, np.nan]), 2.0)
    assert rates[0] == pytest.approx(0.1)
    assert rates[1] == rates[2] == -1.0 and np.isnan(rates[3])


def test_drawdowns_count_the_starting_capital_as_a_peak_when_given() -> None:
    equity = np.array([90.0, 120.0, 96.0, 130.0])
    assert drawdowns(equity).tolist() == pytest.approx([0.0, 0.0, -0.2, 0.0])
    assert drawdowns(equity, start=100.0).tolist() == pytest.approx([-0.1, 0.0, -0.2, 0.0])
    assert max_drawdown(equity) == pytest.approx(-0.2)
    assert max_drawdown(np.array([1.0, 1.5]), start=1.0) == 0.0
