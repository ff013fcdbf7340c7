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

import numpy as np
from numpy.typing import NDArray

from transforms.selection.blocks import Blocks, by_rows, sharpe

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


def pbo(b: Blocks, *, groups: int = 16, overlay: bool = True, batch: int = 64) -> Pbo:
    """CSCV over ``groups`` contiguous groups of months (at least two months each)."""
    n = b.configs
    if n < 2:
        raise ValueError("PBO needs at least two configurations")
    if groups % 2 or groups < 2:
        raise ValueError(f"PBO needs an even number of groups, got {groups}")
    if len(b.months) < 2 * groups:
        raise ValueError(f"PBO with {groups} groups needs {2 * groups} months, got {len(b.months)}")
    used = ("n", "ov", "ov2") if overlay else ("n", "ex", "ex2")  # what sharpe() reads
    g = _group_sums(Blocks(b.months, {k: b.sums[k] for k in used}, b.ruin), groups)
    whole = {k: v.sum(axis=1) for k, v in g.items()}
    combos = np.array(list(itertools.combinations(range(groups), groups // 2)))
    logits, degradation = [], []
    for lo in range(0, len(combos), batch):
        pick = np.zeros((len(combos[lo : lo + batch]), groups))
        np.put_along_axis(pick, combos[lo : lo + batch], 1.0, axis=1)
        train = {k: pick @ v.T for k, v in g.items()}  # splits x configurations
        test = {k: whole[k][None, :] - train[k] for k in g}
        s_train = np.nan_to_num(sharpe(train, overlay=overlay), nan=-np.inf)
        s_test = np.nan_to_num(sharpe(test, overlay=overlay), nan=-np.inf)
        best = np.argmax(s_train, axis=1)
        chosen = s_test[np.arange(len(best)), best]
        # relative rank in (0, 1): ties share the middle of their ranks
        below = (s_test < chosen[:, None]).sum(axis=1)
        equal = (s_test == chosen[:, None]).sum(axis=1)
        w = (below + (equal + 1) / 2.0) / (n + 1)
        logits.append(np.log(w / (1 - w)))
        finite = np.isfinite(chosen) & np.isfinite(s_train[np.arange(len(best)), best])
        degradation.append(np.where(finite, chosen - s_train[np.arange(len(best)), best], np.nan))
    lam = np.concatenate(logits)
    deg = np.concatenate(degradation)
    return Pbo(
        pbo=float(np.mean(lam <= 0)),
        splits=len(lam),
        groups=groups,
        logits=lam,
        degradation=float(np.nanmean(deg)) if np.isfinite(deg).any() else math.nan,
    )
