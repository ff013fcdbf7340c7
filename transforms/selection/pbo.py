"""Probability of backtest overfitting by combinatorially symmetric cross-validation.

Bailey, Borwein, Lopez de Prado and Zhu (2015), "The Probability of Backtest
Overfitting", Journal of Computational Finance 20(4). The sample is cut into ``S``
(even) contiguous groups of whole months. For every way of choosing ``S/2`` groups as
the training set (the rest is the test set), the configuration with the best training
statistic is found and its relative rank among all configurations on the test set,
``w`` in (0, 1), gives the logit ``ln(w / (1 - w))``. PBO is the share of splits whose
logit is at most zero: how often the training winner is no better than the test
median. About 0.5 for configurations without skill, near 0 for a truly dominant one.

The statistic is the annualised Sharpe ratio of each configuration's daily returns
over the chosen months (:func:`transforms.selection.blocks.sharpe`); a configuration
without a Sharpe ratio on a side (ruined before it) ranks last there.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import NDArray

from transforms.annual import SESSIONS_PER_YEAR
from transforms.selection.blocks import Blocks, by_rows

F64 = NDArray[np.float64]
MIN_CONFIGS = 16


@dataclass(frozen=True)
class Pbo:
    pbo: float
    splits: int
    groups: int
    logits: F64  # one per split
    degradation: float  # mean (test - train) Sharpe of the training winner


def _group_sums(b: Blocks, groups: int) -> dict[str, F64]:
    """Sums per contiguous group of months (configurations x groups)."""
    edges = np.linspace(0, len(b.months), groups + 1).round().astype(int)
    return {
        k: by_rows(v, lambda a: np.add.reduceat(a, edges[:-1], axis=1)) for k, v in b.sums.items()
    }


def survivors(b: Blocks) -> NDArray[np.intp]:
    """The configurations never ruined in the sample (rows of ``b``)."""
    return np.flatnonzero(b.ruin >= len(b.months)).astype(np.intp)


def pbo(
    b: Blocks, *, groups: int = 16, overlay: bool = True, rows: NDArray[np.intp] | None = None
) -> Pbo:
    """CSCV over ``groups`` contiguous groups of months (at least two months each), among
    all configurations or only ``rows`` of them (e.g. :func:`survivors`: a configuration
    that wins a training half and is ruined in the test half measures ruin, not
    overfitting)."""
    n = b.configs if rows is None else len(rows)
    if n < 2:
        raise ValueError("PBO needs at least two configurations")
    if groups % 2 or groups < 2:
        raise ValueError(f"PBO needs an even number of groups, got {groups}")
    if len(b.months) < 2 * groups:
        raise ValueError(f"PBO with {groups} groups needs {2 * groups} months, got {len(b.months)}")
    used = ("n", "ov", "ov2") if overlay else ("n", "ex", "ex2")  # what sharpe() reads
    g = _group_sums(Blocks(b.months, {k: b.sums[k] for k in used}, b.ruin), groups)
    sums = np.stack([g[k] if rows is None else g[k][rows] for k in used])  # 3 x configs x groups
    rows_of, weights = _distinct(sums)
    sums = np.ascontiguousarray(sums[:, rows_of].transpose(2, 0, 1))  # groups x 3 x distinct
    combos = np.array(list(itertools.combinations(range(groups), groups // 2)), dtype=np.int64)
    lam, deg = np.empty(len(combos)), np.empty(len(combos))
    _splits(sums, weights, combos, lam, deg)
    return Pbo(
        pbo=float(np.mean(lam <= 0)),
        splits=len(lam),
        groups=groups,
        logits=lam,
        degradation=float(np.nanmean(deg)) if np.isfinite(deg).any() else math.nan,
    )


def _distinct(sums: F64) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Configurations (columns of ``sums``, 3 x configurations x groups) whose group sums
    are the same to the bit have the same Sharpe ratios on every split: each distinct
    one is evaluated once and counted as many times as it appears. Their first
    appearances, in input order (so the first best is the same configuration's), and
    their counts."""
    flat = np.ascontiguousarray(sums.transpose(1, 0, 2).reshape(sums.shape[1], -1))
    keys = flat.view(np.dtype((np.void, flat.itemsize * flat.shape[1]))).ravel()
    _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.argsort(first)
    return first[order].astype(np.intp), counts[order].astype(np.int64)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _sharpe(n: float, s: float, s2: float) -> float:
    """:func:`transforms.selection.blocks.sharpe` of one configuration's totals, with
    -inf where it has none (it ranks last)."""
    mean = s / n
    var = (s2 - s * mean) / (n - 1.0)
    if n >= 3 and var > 0:
        return mean / math.sqrt(var) * math.sqrt(SESSIONS_PER_YEAR)
    return -math.inf


PARTS = 64  # runs of consecutive splits, shared among the cores


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _splits(
    sums: F64, weights: NDArray[np.int64], combos: NDArray[np.int64], logits: F64, degradation: F64
) -> None:
    """Per split: the training winner (the first best), its relative rank on the test
    groups (ties share the middle of their ranks) as a logit, and test - train Sharpe.

    ``sums`` is groups x (n, sum, sum of squares) x distinct configurations, so that
    each step runs across configurations; ``weights``: how many configurations each
    stands for. ``combos`` come in lexicographic order: consecutive
    splits share a prefix of training groups, whose running sums (``prefix[d]``: the
    first d groups, added in order from zero, as a sum group by group would) are
    kept, and only the groups after it are added again; the last group is added on
    the way into the Sharpe ratios."""
    groups, n = sums.shape[0], sums.shape[2]
    half = combos.shape[1]
    total = weights.sum()
    whole = np.zeros((3, n))
    for j in range(groups):
        for f in range(3):
            for k in range(n):
                whole[f, k] += sums[j, f, k]
    for part in numba.prange(PARTS):
        first = combos.shape[0] * part // PARTS
        end = combos.shape[0] * (part + 1) // PARTS
        prefix = np.zeros((half, 3, n))
        train = np.empty(n)
        test = np.empty(n)
        for c in range(first, end):
            same = 0
            while c > first and same < half - 1 and combos[c, same] == combos[c - 1, same]:
                same += 1
            for d in range(same, half - 1):
                j = combos[c, d]
                for f in range(3):
                    for k in range(n):
                        prefix[d + 1, f, k] = prefix[d, f, k] + sums[j, f, k]
            last, t = combos[c, half - 1], prefix[half - 1]
            for k in range(n):
                t0 = t[0, k] + sums[last, 0, k]
                t1 = t[1, k] + sums[last, 1, k]
                t2 = t[2, k] + sums[last, 2, k]
                train[k] = _sharpe(t0, t1, t2)
                test[k] = _sharpe(whole[0, k] - t0, whole[1, k] - t1, whole[2, k] - t2)
            logits[c], degradation[c] = _winner(train, test, weights, total)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _winner(train: F64, test: F64, weights: NDArray[np.int64], total: int) -> tuple[float, float]:
    """The training winner's logit among ``total`` configurations and its test - train
    Sharpe ratio."""
    best = 0
    for k in range(1, len(train)):
        if train[k] > train[best]:
            best = k
    chosen, best_train = test[best], train[best]
    below = 0
    equal = 0
    for k in range(len(test)):
        below += weights[k] * (test[k] < chosen)
        equal += weights[k] * (test[k] == chosen)
    w = (below + (equal + 1) / 2.0) / (total + 1)
    finite = math.isfinite(chosen) and math.isfinite(best_train)
    return math.log(w / (1 - w)), chosen - best_train if finite else math.nan
