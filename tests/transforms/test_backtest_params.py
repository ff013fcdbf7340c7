"""Backtest parameters, sweep grids and the VIX option helpers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from transforms.backtest.params import (
    DOMAINS,
    FIELDS,
    BacktestParams,
    as_record,
    config_hash,
    config_hashes,
    dimension,
    expand_grid,
    frange,
    parse_value,
    read_grid,
    sweep_dimensions,
    with_values,
)
from transforms.options.black import black76
from transforms.options.vix import base_vol, call_strike, call_value, call_vol

BANDS = ["band_low", "band_high"]


def test_values_parse_by_field_type_and_unknown_names_get_a_hint() -> None:
    assert parse_value("hedge_ratio", "0.3") == 0.3
    assert parse_value("lots", "20") == 20
    assert parse_value("controller", "off") is False
    assert parse_value("start_date", "2008-01-02") == date(2008, 1, 2)
    assert parse_value("end_date", "none") is None
    with pytest.raises(ValueError, match=r"unknown parameter 'hedge'.*hedge_ratio"):
        parse_value("hedge", "1")
    with pytest.raises(ValueError, match="parameter lots='x': expected a whole number"):
        parse_value("lots", "x")
    with pytest.raises(ValueError, match=r"parameter lots='1\.5': expected a whole number"):
        parse_value("lots", "1.5")
    with pytest.raises(ValueError, match="parameter hedge_ratio='x': expected a number"):
        parse_value("hedge_ratio", "x")


def test_invalid_combinations_are_refused_with_every_reason() -> None:
    with pytest.raises(
        ValueError, match=r"h_min <= h_max.*R-squared band 0.7-0.5: need low <= high"
    ):
        BacktestParams(h_min=0.3, h_max=0.1, band_low=0.7, band_high=0.5)
    with pytest.raises(ValueError, match="exit_dte 50 >= target_dte 45"):
        with_values(BacktestParams(), {"exit_dte": 50})


def test_every_numeric_parameter_refuses_non_finite_and_out_of_domain_values() -> None:
    numeric = [name for name, kind in FIELDS.items() if kind in ("int", "float")]
    assert sorted(DOMAINS) == sorted(numeric)  # each declares its domain
    for name in numeric:
        domain = DOMAINS[name]
        assert domain.admits(getattr(BacktestParams(), name)), name  # the default is inside
        bad: list[object] = [domain.low - 1, domain.high + 1]
        if FIELDS[name] == "float":
            bad += [float("nan"), float("inf"), -float("inf")]
        if domain.low_open:
            bad.append(domain.low)
        for value in bad:
            typed = int(value) if FIELDS[name] == "int" else value  # type: ignore[call-overload]
            with pytest.raises(ValueError, match=rf"{name} \S+ outside [\[(]"):
                with_values(BacktestParams(), {name: typed})


def test_a_grid_larger_than_its_bound_is_refused_before_it_is_listed() -> None:
    with pytest.raises(
        ValueError,
        match=r"the range 0:0.4:1e-07 has 4,000,001 values, more "
        r"than the 200,000 a sweep allows \(--max-configs N raises the bound\)",
    ):
        dimension("hedge_ratio", "0:0.4:0.0000001")
    wide = [dimension("hedge_ratio", "0:0.4:0.001"), dimension("wing_pct", "0.01:0.1:0.0001")]
    with pytest.raises(ValueError, match="the grid has 361,301 configurations"):
        expand_grid(BacktestParams(), wide)
    assert len(expand_grid(BacktestParams(), wide[:1], limit=401)) == 401
    with pytest.raises(ValueError, match="not finite"):
        frange(0, float("inf"), 1)
    with pytest.raises(ValueError, match="has inf values"):
        frange(0, 1e300, 1e-300)
    assert len(frange(0, 0.199999, 0.000001)) == 200_000  # the bound itself is allowed


def test_an_unknown_key_in_a_grid_file_names_the_file() -> None:
    for text in ("[base]\nhedge = 0.1\n", "[grid]\nhedge = [0.1, 0.2]\n"):
        with pytest.raises(ValueError, match=r"grid file g.toml: unknown parameter 'hedge'"):
            read_grid(text, where="g.toml")


def test_ranges_include_their_end_and_grids_are_products() -> None:
    assert frange(0, 0.4, 0.02)[-1] == 0.4 and len(frange(0, 0.4, 0.02)) == 21
    bands = dimension("r2_band", "0.45-0.65,0.35-0.55,0.55-0.75")
    assert bands == (["band_low", "band_high"], [[0.45, 0.65], [0.35, 0.55], [0.55, 0.75]])
    grid = expand_grid(
        BacktestParams(),
        [dimension("hedge_ratio", "0:0.4:0.1"), bands, dimension("call_delta", [0.25, "0.4"])],
    )
    assert len(grid) == 5 * 3 * 2
    assert {(g.band_low, g.band_high) for g in grid} == {(0.45, 0.65), (0.35, 0.55), (0.55, 0.75)}
    assert len({config_hash(g) for g in grid}) == 30
    same = {"hedge_ratio": 0.0, "band_low": 0.45, "band_high": 0.65, "call_delta": 0.25}
    assert config_hash(grid[0]) == config_hash(with_values(BacktestParams(), same))
    with pytest.raises(ValueError, match="appears in two sweep dimensions"):
        expand_grid(
            BacktestParams(), [dimension("hedge_ratio", "0.1"), dimension("hedge_ratio", "0.2")]
        )
    with pytest.raises(ValueError, match="low-high"):
        dimension("r2_band", "0.45")


def test_parameters_that_vary_together_are_one_dimension_as_text_and_in_a_grid_file() -> None:
    """The ladder's weights, swept as triples: one axis of rows, from ``--dim`` text
    (a/b/c,...) and from a TOML grid (a list of lists), typed by each parameter."""
    names = ["ladder_w2", "ladder_w3", "ladder_w4"]
    rows = [[0.4, 0.4, 0.2], [0.6, 0.3, 0.1]]
    assert dimension(",".join(names), "0.4/0.4/0.2, 0.6/0.3/0.1") == (names, rows)
    text = '[grid]\n"ladder_w2, ladder_w3,ladder_w4" = [[0.4, 0.4, 0.2], [0.6, 0.3, 0.1]]\n'
    _, specs = read_grid(text, where="g.toml")
    assert dimension(*specs[0]) == (names, rows)
    grid = expand_grid(BacktestParams(), [dimension(*specs[0]), dimension("lots", "1,2")])
    assert [(g.ladder, g.lots) for g in grid] == [
        ((0.4, 0.4, 0.2), 1), ((0.4, 0.4, 0.2), 2), ((0.6, 0.3, 0.1), 1), ((0.6, 0.3, 0.1), 2)
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"each value is 3 values, one per name"):
        dimension(",".join(names), "0.4/0.6")
    with pytest.raises(ValueError, match=r"each value is 2 values"):
        dimension("ladder_w2,ladder_w3", [0.4, 0.6])
    with pytest.raises(ValueError, match=r"grid file g.toml: unknown parameter 'ladder_w5'"):
        read_grid('[grid]\n"ladder_w2,ladder_w5" = [[0.5, 0.5]]\n', where="g.toml")
    with pytest.raises(ValueError, match=r"ladder_w2 1.5 outside"):
        expand_grid(BacktestParams(), [dimension("ladder_w2,ladder_w3", "1.5/0.1")])
    # a sweep's default hedge ratios and bands are added only where no dimension has them
    joint = [("hedge_ratio,lots", "0.1/1"), ("band_low,band_high", "0.4/0.6")]
    assert [n for n, _ in sweep_dimensions(joint)] == [["hedge_ratio", "lots"], BANDS]
    assert [n for n, _ in sweep_dimensions([])] == [["hedge_ratio"], BANDS]


def test_vix_call_strike_is_the_listed_strike_nearest_the_target_delta() -> None:
    forward, t, rate = 19.4, 29 / 365, 0.02
    targets = np.array([0.25, 0.30, 0.40])
    strikes = call_strike(
        forward=forward, t=t, rate=rate, base=0.9, skew=0.4, target_delta=targets, otm_points=0.0
    )
    lattice = np.arange(10.0, 80.0)
    _, deltas = call_value(strike=lattice, forward=forward, t=t, rate=rate, base=0.9, skew=0.4)
    for target, strike in zip(targets, strikes, strict=True):
        assert strike == lattice[np.argmin(np.abs(deltas - target))]
    assert strikes[0] > strikes[1] > strikes[2] > forward
    by_points = call_strike(
        forward=forward, t=t, rate=rate, base=0.9, skew=0.4, target_delta=0.3, otm_points=4.0
    )
    assert by_points[0] == 24.0  # first listed strike at least 4 points above 19.4


def test_vix_call_vol_uses_vvix_or_the_parameter_and_expires_to_intrinsic() -> None:
    assert base_vol(float("nan"), vol_of_vol=0.9) == pytest.approx(0.9)
    assert base_vol(105.0, vol_of_vol=0.9) == pytest.approx(1.05)
    vols = call_vol(strike=np.array([15.0, 20.0, 30.0]), forward=20.0, base=1.0, skew=0.4)
    assert vols[0] < vols[1] == 1.0 < vols[2]  # upward-sloping VIX smile
    price, _ = call_value(
        strike=np.array([22.0]), forward=20.0, t=0.1, rate=0.01, base=0.8, skew=0.0
    )
    ref = black76(forward=20.0, strike=22.0, t=0.1, rate=0.01, vol=0.8, is_call=True).price
    assert price[0] == pytest.approx(float(ref), rel=1e-14)
    payoff, delta = call_value(
        strike=np.array([18.0, 25.0]), forward=21.5, t=0.0, rate=0.01, base=0.8, skew=0.4
    )
    assert payoff.tolist() == [3.5, 0.0] and delta.tolist() == [1.0, 0.0]


def test_every_parameter_is_a_path_field_or_a_kernel_column_and_the_kernel_reads_each() -> None:
    """A field in neither set would be silently ignored by sweeps; a kernel column the
    kernel never reads would be too."""
    import inspect

    from transforms.backtest import vectorised
    from transforms.backtest.params import KERNEL_FIELDS, NAMES, PATH_FIELDS, unaccounted

    assert unaccounted() == []
    assert len(set(KERNEL_FIELDS)) == len(KERNEL_FIELDS)
    assert set(KERNEL_FIELDS) | PATH_FIELDS <= set(NAMES)
    engine = inspect.getsource(vectorised)
    assert vectorised.PARAMS.names == KERNEL_FIELDS  # the record is the registry's
    for name in KERNEL_FIELDS:  # read by name in the day's steps, or keys the call series
        assert f"q.{name}" in engine or name in vectorised.CALL_KEY, name
    assert "q[" not in engine  # no field read by position


def test_a_configuration_hash_is_the_digest_of_its_record_as_sorted_compact_json() -> None:
    import hashlib
    import json

    grid = expand_grid(
        with_values(BacktestParams(), {"start_date": "2008-01-02", "lots": "3"}),
        [dimension("hedge_ratio", "0:0.2:0.1"), dimension("controller", "false,true")],
    )
    grid.append(BacktestParams())
    expected = [
        hashlib.sha256(
            json.dumps(as_record(g), sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()[:16]
        for g in grid
    ]
    assert config_hashes(grid) == expected == [config_hash(g) for g in grid]
    assert len(set(expected)) == len(grid)


def test_a_grid_is_what_replace_makes_and_is_refused_as_replace_refuses() -> None:
    from dataclasses import replace

    base = with_values(BacktestParams(), {"lots": 10})
    dims = [dimension("hedge_ratio", "0:0.2:0.1"), dimension("controller", "false,true")]
    dims.append((["band_low", "band_high"], [[0.3, 0.5], [0.5, 0.8]]))
    grid = expand_grid(base, dims)
    assert grid == [
        replace(base, hedge_ratio=h, controller=c, band_low=lo, band_high=hi)
        for h in (0.0, 0.1, 0.2)
        for c in (False, True)
        for lo, hi in ((0.3, 0.5), (0.5, 0.8))
    ]
    assert all(type(g) is BacktestParams for g in grid)
    with pytest.raises(
        ValueError, match=r"hedge_ratio -1.0 outside \[0, 10\]; reserve 2.0 outside"
    ):
        expand_grid(base, [dimension("hedge_ratio", "-1,0.2"), dimension("reserve", "2")])
    with pytest.raises(ValueError, match=r"R-squared band 0\.7-0\.6: need low <= high"):
        expand_grid(base, [dimension("band_low", "0.7"), dimension("band_high", "0.6")])
