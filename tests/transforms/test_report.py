"""Report figures without the warehouse: the Pareto front, the sweep page's handling of
ruined configurations, heatmap colour scales, and the display formats."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from report.render import color_scale
from transforms.backtest.metric_registry import METRICS
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
            "ruined": [bool(r) for r in ruined],
            "ruin_date": [date(2011, 8, 1 + k) if r else None for k, r in enumerate(ruined)],
            "sharpe": rng.normal(size=n),
            "time_in_band": rng.uniform(size=n),
            "sharpe_out_of_sample": rng.normal(size=n),
            "hedge_cost_flat": rng.normal(size=n) / 100,
        }
    )


def test_a_sweep_page_never_shows_a_ruined_configuration_as_a_candidate() -> None:
    results = _results([0, 1, 0, 1, 0, 0])
    some = sweep_page(record={"sweep_id": "s"}, results=results)
    assert some.notes == [
        "2 of 6 configurations were ruined (the first on 2011-08-02): they are left out of "
        "every figure and listed apart"
    ]
    assert len(some.sharpes) == some.living == 4 and some.heatmaps["sharpe"].height == 1
    assert set(some.scatter["config_hash"]) == {"c0", "c2", "c4", "c5"}
    assert set(some.top["config_hash"]) == {"c0", "c2", "c4", "c5"}
    assert some.ruined["config_hash"].to_list() == ["c1", "c3"]
    assert some.ruined["ruin_date"].to_list() == [date(2011, 8, 2), date(2011, 8, 4)]
    assert some.top["differs_from_defaults"][0].startswith(("lots=10", "hedge_ratio"))
    every = sweep_page(record={"sweep_id": "s"}, results=_results([1, 1, 1]))
    assert "every configuration (3) was ruined" in every.notes[0]
    assert "the first on 2011-08-01" in every.notes[0]
    assert len(every.sharpes) == every.living == 0 and every.top.is_empty()
    assert every.scatter.is_empty() and every.ruined.height == 3
    one = sweep_page(record={"sweep_id": "s"}, results=_results([0]))
    assert "a sweep of one configuration" in one.notes[0]


def test_heatmap_colour_scales_have_distinct_ticks_or_say_why_not() -> None:
    flat = np.array([[0.3201, 0.3233], [0.3268, np.nan]])  # spans 0.0067 of Sharpe
    scale = color_scale(flat, pct=False)
    assert isinstance(scale, tuple)
    low, high, ticks = scale
    assert (low, high) == (0.3201, 0.3268) and ticks == ".3f"  # five ticks, all distinct
    assert {f"{low + k * (high - low) / 4:{ticks}}" for k in range(5)}.__len__() == 5
    zero = color_scale(np.zeros((3, 4)), pct=True)
    assert isinstance(zero, str) and "0.0%" in zero
    tiny = color_scale(np.array([[0.5, 0.5004]]), pct=False)
    assert isinstance(tiny, str) and "less than the metric's precision" in tiny
    share = color_scale(np.array([[0.0, 0.25]]), pct=True)
    assert share == (0.0, 0.25, ".0%")  # within [0, 1], never -40 % to 40 %
    assert color_scale(np.full((2, 2), np.nan), pct=False) == "No configuration has a value here."


def test_every_metric_has_a_unit_and_formats_read_as_on_the_page() -> None:
    from transforms.backtest.metric_registry import COUNT, INDEX, REGISTRY

    assert list(UNITS) == list(METRICS)  # the pages read the registry, in column order
    assert {m.unit for m in REGISTRY.values()} <= {PERCENT, RATIO, DOLLARS, COUNT, INDEX}
    labels = [m.label for m in REGISTRY.values()]
    assert all(labels) and len(set(labels)) == len(labels)  # no metric shown twice
    assert {m.sql_type for m in REGISTRY.values()} <= {"DOUBLE", "BOOLEAN"}
    assert fmt(0.1234, PERCENT) == "12.3 %"
    assert fmt(1234567.8, DOLLARS) == "1,234,568"
    assert fmt(0.5, RATIO) == "0.50" and fmt(0.0123, RATIO) == "0.0123"
    assert fmt(float("nan"), RATIO) == fmt(None, RATIO) == "n/a"
