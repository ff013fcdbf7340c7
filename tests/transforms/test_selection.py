"""Selection statistics on seeded data: DSR, distinct and effective trials, PBO, and
walk-forward folds that never look past their training window."""

from __future__ import annotations

import math

import numpy as np
import pytest

from transforms.selection import dsr
from transforms.selection.blocks import FIELDS, Blocks, month_index, sharpe, time_in_band
from transforms.selection.digest import HASH_SEED, hash_step, hex_digests
from transforms.selection.dsr import (
    deflated_sharpe,
    effective_trials,
    expected_max_sharpe,
)
from transforms.selection.pbo import pbo
from transforms.selection.walk_forward import choose, folds, walk_forward

DATES = np.arange(np.datetime64("2010-01-04"), np.datetime64("2020-01-01")).astype("datetime64[D]")
DATES = DATES[np.is_busday(DATES)]  # ten years of weekdays, 120 months


def _blocks(returns: np.ndarray, *, ruin_day: np.ndarray | None = None) -> Blocks:
    """Monthly sums of daily returns as the engine's metrics keep them (the overlay
    equal to the excess return, every session with an R-squared inside its band)."""
    n = returns.shape[0]
    months, position = month_index(DATES)
    starts = np.flatnonzero(np.r_[True, np.diff(position) != 0])
    valid = np.isfinite(returns)
    r = np.where(valid, returns, 0.0)
    ones = np.ones_like(r)
    daily = {
        "n": valid * 1.0,
        "ex": r,
        "ex2": r * r,
        "ov": r,
        "ov2": r * r,
        "band": ones,
        "r2": ones,
    }
    ruin = np.full(n, -1) if ruin_day is None else ruin_day
    return Blocks(
        months,
        {k: np.add.reduceat(daily[k], starts, axis=1) for k in FIELDS},
        np.where(ruin >= 0, position[np.maximum(ruin, 0)], len(months)).astype(np.intp),
    )


def _digests(returns: np.ndarray) -> list[str]:
    """Each row's digest, folded session by session as the engine folds it."""
    out = []
    for row in returns:
        h = HASH_SEED
        for value in row:
            h = np.uint64(hash_step(h, float(value)))
        out.append(h)
    return hex_digests(np.array(out, dtype=np.uint64))


def test_deflated_sharpe_falls_with_the_number_of_trials() -> None:
    rng = np.random.default_rng(3)
    few = deflated_sharpe(
        sharpe=1.0, sharpes=rng.normal(0.3, 0.3, 10), skewness=0.0, kurtosis=3.0, sessions=2500
    )
    many = deflated_sharpe(
        sharpe=1.0, sharpes=rng.normal(0.3, 0.3, 10_000), skewness=0.0, kurtosis=3.0, sessions=2500
    )
    assert 0 < many < few < 1


def _paper_dsr() -> float:
    spread = np.random.default_rng(0).standard_normal(100)
    sharpes = (spread - spread.mean()) / spread.std(ddof=1) * math.sqrt(0.5)  # variance 0.5
    return deflated_sharpe(
        sharpe=2.5, sharpes=sharpes, skewness=-3.0, kurtosis=10.0, sessions=1250,
        periods_per_year=250,
    )  # fmt: skip


def test_deflated_sharpe_reproduces_the_papers_worked_example() -> None:
    """Bailey and Lopez de Prado (2014), section 4: 100 trials whose annualised Sharpe
    ratios vary by 0.5, the best 2.5 (annualised over 250 days) from 1,250 daily returns
    with skewness -3 and kurtosis 10: SR0 = 0.1132 (daily) and DSR = 0.9004."""
    assert expected_max_sharpe(variance=0.5 / 250, trials=100) == pytest.approx(0.1132, abs=5e-5)
    assert _paper_dsr() == pytest.approx(0.9004, abs=5e-5)


@pytest.mark.parametrize(
    "mutation",
    [
        "(1 - EULER_GAMMA) * ndtri(1 - 1 / trials)|EULER_GAMMA * ndtri(1 - 1 / trials)",
        "trials * math.e|trials * 2",
        "1 - skewness * per|1 + skewness * per",
        "(kurtosis - 1) / 4|(kurtosis - 3) / 4",
        "math.sqrt(sessions - 1)|math.sqrt(sessions)",
        "ddof=1|ddof=0",
    ],
)
def test_a_mutated_formula_fails_the_worked_example(
    mutation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each plausible slip in the formula moves the worked example off 0.9004."""
    import inspect

    old, new = mutation.split("|")
    source = inspect.getsource(dsr)
    assert old in source
    namespace: dict[str, object] = {"__name__": "mutant"}
    exec(compile(source.replace(old, new, 1), "mutant", "exec"), namespace)
    for name in ("expected_max_sharpe", "deflated_sharpe"):
        monkeypatch.setattr(dsr, name, namespace[name])
    monkeypatch.setitem(globals(), "deflated_sharpe", namespace["deflated_sharpe"])
    assert (
        abs(_paper_dsr() - 0.9004) > 5e-5
        or abs(dsr.expected_max_sharpe(variance=0.5 / 250, trials=100) - 0.1132) > 5e-5
    )


def test_identical_series_are_one_trial_and_correlated_ones_count_less() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.01, (5, 240))
    twins = np.concatenate([base, base[:2]])
    hashes = _digests(twins)
    assert len(set(hashes)) == 5 and hashes[5] == hashes[0]
    assert effective_trials(base) == pytest.approx(5, abs=0.8)  # independent: about one each
    common = rng.normal(0, 0.01, 240)
    herd = common + rng.normal(0, 0.001, (50, 240))  # 50 near-copies of one bet
    assert effective_trials(herd) < 5
    assert effective_trials(rng.normal(0, 0.01, (50, 240))) > 30


def test_window_statistics_equal_direct_computations() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(0.0004, 0.01, (3, len(DATES)))
    b = _blocks(r)
    assert len(b.months) == 120
    total = b.window(12, 47)  # 2011..2013
    month = DATES.astype("datetime64[M]")
    at = (month >= np.datetime64("2011-01")) & (month <= np.datetime64("2013-12"))
    direct = r[:, at].mean(axis=1) / r[:, at].std(axis=1, ddof=1) * math.sqrt(252)
    np.testing.assert_allclose(sharpe(total, overlay=True), direct, rtol=1e-10)
    assert np.all(time_in_band(total) == 1.0)


def test_pbo_is_a_coin_flip_on_noise_and_zero_with_a_dominant_configuration() -> None:
    rng = np.random.default_rng(4)
    noise = rng.normal(0, 0.01, (40, len(DATES)))
    assert pbo(_blocks(noise)).pbo == pytest.approx(0.5, abs=0.15)
    dominant = noise.copy()
    dominant[7] += 0.003  # a Sharpe ratio near 5 against none
    result = pbo(_blocks(dominant))
    assert result.splits == 12_870  # C(16, 8)
    assert result.pbo < 0.02


def test_folds_roll_and_expand() -> None:
    rolling = folds(120, train=36, test=12)
    assert [(f.train, f.test) for f in rolling[:2]] == [((0, 35), (36, 47)), ((12, 47), (48, 59))]
    assert rolling[-1].test == (108, 119) and len(rolling) == 7
    expanding = folds(120, train=36, test=24, mode="expanding")
    assert [f.train[0] for f in expanding] == [0, 0, 0, 0]
    assert expanding[-1].test == (108, 119)
    with pytest.raises(ValueError, match="leaves no test months"):
        folds(24, train=36, test=12)


def test_a_fold_never_sees_past_its_training_window() -> None:
    """Changing every return after a fold's training window, even to make another
    configuration the best by far, changes no choice whose training ended before."""
    rng = np.random.default_rng(5)
    r = rng.normal(0.0002, 0.01, (30, len(DATES)))
    before = walk_forward(_blocks(r), train=36, test=12)
    month = DATES.astype("datetime64[M]")
    cut = np.datetime64("2015-01")  # month 60: folds with training up to month 59 are safe
    changed = r.copy()
    changed[:, month >= cut] = rng.normal(0.0, 0.02, (30, int((month >= cut).sum())))
    changed[3, month >= cut] += 0.01
    after = walk_forward(_blocks(changed), train=36, test=12)
    safe = [c.fold.fold for c in before if c.fold.train[1] < 60]
    assert len(safe) == 3
    for k in safe:
        assert after[k].config == before[k].config
    assert any(a.config == 3 for a in after if a.fold.train[1] >= 60)  # later folds saw it


def test_ruined_and_out_of_band_configurations_are_not_chosen() -> None:
    rng = np.random.default_rng(6)
    r = rng.normal(0.0, 0.01, (3, len(DATES)))
    r[0] += 0.004  # the best, but ruined in month 20
    ruin = np.array([np.searchsorted(DATES, np.datetime64("2011-09-01")), -1, -1])
    r[0, ruin[0] + 1 :] = np.nan
    b = _blocks(r, ruin_day=ruin)
    fold = folds(120, train=36, test=12)[0]
    assert choose(b, fold).config != 0
    out_of_band = Blocks(b.months, {**b.sums, "band": b.sums["band"] * 0}, b.ruin)
    none = choose(out_of_band, fold, min_time_in_band=0.5)
    assert none.config == -1 and none.eligible == 0


def _cscv_by_hand(returns: np.ndarray, groups: int) -> np.ndarray:
    """CSCV's logits from the definition, one split at a time in plain Python: the
    training winner (first best annualised Sharpe) and its relative rank on the test
    groups, ties sharing the middle of their ranks."""
    import itertools

    months, position = month_index(DATES)
    edges = np.linspace(0, len(months), groups + 1).round().astype(int)
    group_of = np.searchsorted(edges, position, side="right") - 1

    def sr(x: np.ndarray) -> float:
        x = x[np.isfinite(x)]
        if len(x) < 3 or x.std(ddof=1) == 0:
            return -math.inf
        return float(x.mean() / x.std(ddof=1) * math.sqrt(252))

    logits = []
    for train in itertools.combinations(range(groups), groups // 2):
        inside = np.isin(group_of, train)
        train_sr = [sr(r[inside]) for r in returns]
        test_sr = [sr(r[~inside]) for r in returns]
        best = max(range(len(returns)), key=lambda k: (train_sr[k], -k))
        below = sum(t < test_sr[best] for t in test_sr)
        equal = sum(t == test_sr[best] for t in test_sr)
        w = (below + (equal + 1) / 2) / (len(returns) + 1)
        logits.append(math.log(w / (1 - w)))
    return np.array(logits)


@pytest.mark.parametrize(("seed", "groups"), [(1, 8), (2, 8), (3, 8), (4, 2), (5, 4), (6, 6)])
def test_compiled_pbo_equals_a_brute_force_cscv(seed: int, groups: int) -> None:
    """On small inputs (7 configurations; 8 groups: 70 splits, down to 2 groups: 2) with
    ties built in (identical series; a series that is a multiple of another has its
    Sharpe ratio), the compiled CSCV gives every split's logit the definition gives
    (the compiled one carries the training sums from split to split, and evaluates
    identical configurations once, counted as often as they appear), and so its
    share."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.01, (7, len(DATES)))
    returns[3] = returns[1]  # a tie everywhere
    returns[4] = 2.0 * returns[2]  # equal Sharpe ratios on every window
    returns[5] = returns[4]  # a copy of the multiple, after it
    returns[0] = returns[6]  # a copy before its original
    result = pbo(_blocks(returns), groups=groups)
    by_hand = _cscv_by_hand(returns, groups)
    assert result.splits == math.comb(groups, groups // 2) == len(by_hand)
    np.testing.assert_allclose(result.logits, by_hand, rtol=0, atol=1e-12)
    assert result.pbo == pytest.approx(float(np.mean(by_hand <= 0)), abs=1e-12)


@pytest.mark.parametrize("a_first", [True, False])
def test_a_training_tie_goes_to_the_configuration_that_appears_first(a_first: bool) -> None:
    """Two distinct configurations equal over the first half (both win it) and apart
    over the second: the winner of the split that trains on the first half is the one
    that appears first, though each is repeated (the compiled CSCV evaluates each once)
    and whatever order their values sort in."""
    months, position = month_index(DATES)
    first_half = position < round(len(months) / 2)
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0003, 0.01, (6, len(DATES)))
    a = returns[1] + 0.005 * first_half
    b = np.where(first_half, a, returns[2])
    returns[1], returns[2] = (a, b) if a_first else (b, a)
    returns[3] = returns[2]
    returns[5] = returns[1]
    result = pbo(_blocks(returns), groups=2)
    np.testing.assert_allclose(result.logits, _cscv_by_hand(returns, 2), rtol=0, atol=1e-12)
    assert result.logits[0] != pbo(_blocks(returns[[0, 2, 1, 3, 4, 5]]), groups=2).logits[0]


def test_a_tie_at_the_median_counts_as_overfit() -> None:
    """Two identical configurations: every split's winner ties the other on the test
    groups, its relative rank is exactly 1/2 and its logit exactly 0, which counts
    (``logit <= 0``): PBO 1. Counting only negative logits, or ranking ties below or
    above, would give 0 or a logit off zero."""
    rng = np.random.default_rng(5)
    row = rng.normal(0.001, 0.01, len(DATES))
    result = pbo(_blocks(np.vstack([row, row])), groups=4)
    assert np.all(result.logits == 0.0)
    assert result.pbo == 1.0


def test_pbo_among_survivors_leaves_the_ruined_out() -> None:
    """Configurations ruined early shine before it: a split whose training groups hold
    their whole life picks one, and it ranks last on the test groups (no returns). Among
    all, that looks like overfitting in about C(14,6)/C(16,8) = 23 % of the splits;
    among the survivors a dominant configuration gives PBO near zero."""
    from transforms.selection.pbo import survivors

    rng = np.random.default_rng(6)
    returns = rng.normal(0.0, 0.01, (24, len(DATES)))
    returns[0] += 0.002  # the dominant survivor
    half = len(DATES) // 8  # the first two of 16 groups
    ruin_day = np.full(24, -1)
    returns[16:, :half] += 0.01  # eight stars early ...
    returns[16:, half:] = np.nan  # ... ruined after it
    ruin_day[16:] = half
    b = _blocks(returns, ruin_day=ruin_day)
    alive = survivors(b)
    assert alive.tolist() == list(range(16))
    assert pbo(b).pbo > 0.2
    assert pbo(b, rows=alive).pbo < 0.05
    assert pbo(b, rows=alive).pbo == pytest.approx(pbo(_blocks(returns[:16])).pbo)


def _rows(n: int, family: list[str], sharpe: list[float], ruined: list[bool]) -> object:
    import polars as pl

    return pl.DataFrame(
        {
            "config_hash": [f"c{k}" for k in range(n)],
            "returns_hash": [f"r{k}" for k in range(n)],
            "family": family,
            "ruined": ruined,
            "time_in_band": [0.5] * n,
            "sharpe": sharpe,
            "overlay_sharpe": sharpe,
            "skewness": [0.0] * n,
            "kurtosis": [3.0] * n,
            "overlay_skewness": [0.0] * n,
            "overlay_kurtosis": [3.0] * n,
        }
    )


def test_trial_stats_deflate_within_the_best_family() -> None:
    """The best configuration is deflated by its own family's trials (the sweep's and
    the registry's); other families count only in the snapshot-wide figure."""
    import polars as pl

    from transforms.selection.trials import trial_stats

    rng = np.random.default_rng(8)
    returns = rng.normal(0.0, 0.01, (6, len(DATES)))
    returns[0] += 0.0015
    b = _blocks(returns)
    total = b.window(0, len(b.months) - 1)
    sr = sharpe(total, overlay=True).tolist()
    rows = _rows(6, ["A", "A", "A", "B", "B", "B"], sr, [False] * 6)
    registry = pl.DataFrame(
        {
            "returns_hash": ["x1", "x2", "x3", "r1"],  # r1 is the sweep's own series
            "family": ["A", "B", None, "A"],
            "sharpe": [0.1, 0.2, 0.3, 0.0],
            "overlay_sharpe": [0.1, 0.2, 0.3, 0.0],
            "ruined": [False, False, False, False],
        }
    )
    stats = trial_stats(rows, b, registry)  # type: ignore[arg-type]
    assert stats.overlay_best_config_hash == "c0" and stats.trial_family == "A"
    assert stats.distinct_trials == 3 and stats.registry_trials == 1  # x1 only
    assert stats.snapshot_trials == 6 + 3  # every distinct series, every family
    assert stats.trials_counted == pytest.approx(stats.effective_trials + 1)
    # the DSR is the formula's on the family's trials, computed here independently
    fam = np.array([sr[0], sr[1], sr[2], 0.1])
    expected = dsr.deflated_sharpe(
        sharpe=sr[0],
        sharpes=fam,
        skewness=0.0,
        kurtosis=3.0,
        sessions=int(b.sums["n"][0].sum()),
        trials=stats.trials_counted,
    )
    assert stats.overlay_deflated_sharpe == pytest.approx(expected)
    # pooling every family counts every family's trials
    pooled = trial_stats(
        rows.with_columns(pl.lit("A").alias("family")),  # type: ignore[attr-defined]
        b,
        registry.with_columns(pl.lit("A").alias("family")),
    )
    assert pooled.distinct_trials == 6 and pooled.registry_trials == 3


def test_trial_stats_with_nothing_to_rank_and_ruined_trials() -> None:
    import polars as pl

    from transforms.selection.trials import trial_stats

    rng = np.random.default_rng(9)
    b = _blocks(rng.normal(0.0, 0.01, (3, len(DATES))))
    empty = pl.DataFrame(
        schema={"returns_hash": pl.String, "family": pl.String, "sharpe": pl.Float64,
                "overlay_sharpe": pl.Float64, "ruined": pl.Boolean}
    )  # fmt: skip
    ruined = trial_stats(_rows(3, ["A"] * 3, [1.0, 2.0, 3.0], [True] * 3), b, empty)  # type: ignore[arg-type]
    assert ruined.overlay_best_config_hash is None and ruined.trial_family is None
    assert ruined.ruined_trials == 3 and ruined.overlay_deflated_sharpe is None
    one = trial_stats(_rows(3, ["A"] * 3, [1.0, 2.0, 3.0], [False, False, True]), b, empty)  # type: ignore[arg-type]
    assert one.overlay_best_config_hash == "c1"  # the ruined c2 is never the best
    assert one.ruined_trials == 1
    with pytest.raises(ValueError, match="not 'cagr'"):
        trial_stats(_rows(3, ["A"] * 3, [1.0] * 3, [False] * 3), b, empty, metric="cagr")  # type: ignore[arg-type]


def test_a_trial_family_is_its_costs_fill_calibration_and_snapshot() -> None:
    from dataclasses import replace

    from transforms.backtest.params import BacktestParams, as_record
    from transforms.selection.trials import trial_family

    base = BacktestParams()

    def fam(p: BacktestParams, snapshot: str = "s1") -> str:
        return trial_family(as_record(p), snapshot)

    assert fam(base) == fam(replace(base, hedge_ratio=0.3, lots=7))  # a trading choice
    assert fam(base) == fam(replace(base, spx_half_spread=0.5))  # unused under the model
    for other in (
        replace(base, spx_fill=0.5),
        replace(base, spx_spread_scale=2.0),
        replace(base, spx_spread_model=False),
        replace(base, smile_atm_ratio=0.84),
    ):
        assert fam(other) != fam(base)
    assert fam(base, "s2") != fam(base)
    flat = replace(base, spx_spread_model=False)
    assert fam(flat) != fam(replace(flat, spx_half_spread=0.5))
