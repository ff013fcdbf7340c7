"""The deflated Sharpe ratio over distinct, effectively independent trials.

* :func:`deflated_sharpe`: Bailey and Lopez de Prado (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", Journal of
  Portfolio Management 40(5): the probability that the best trial's true Sharpe ratio
  exceeds SR0, the maximum expected among ``trials`` trials without skill.
* Distinct trials: configurations whose daily return series are identical (a band that
  does nothing without the controller, say) are one trial
  (:mod:`transforms.selection.digest`).
* Effective number of independent trials, :func:`effective_trials`: the eigenvalue
  estimator of Li and Ji (2005), "Adjusting multiple testing in multi-locus analyses
  using the eigenvalues of a correlation matrix", Heredity 95: 221-227 (a refinement of
  Nyholt 2004): ``M_eff = sum_i [1(l_i >= 1) + (l_i - floor(l_i))]`` over the eigenvalues
  ``l_i`` of the trials' return correlation matrix. Correlated trials cluster into few
  large eigenvalues and count as few; independent ones count one each. It needs no
  clustering threshold and runs on ten thousand series (the eigenvalues come from the
  periods x periods Gram matrix). Lopez de Prado (2019) clusters the correlation matrix
  instead (ONC); both estimate the same quantity, the number of independent directions.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri  # the normal cdf and its inverse

from transforms.annual import SESSIONS_PER_YEAR
from transforms.selection.blocks import BATCH, release

F64 = NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(*, variance: float, trials: float) -> float:
    """SR0 of Bailey and Lopez de Prado (2014): the Sharpe ratio (per period) the best of
    ``trials`` independent trials reaches by chance when their Sharpe ratios have
    ``variance`` (per period) and no true edge."""
    return math.sqrt(variance) * float(
        (1 - EULER_GAMMA) * ndtri(1 - 1 / trials) + EULER_GAMMA * ndtri(1 - 1 / (trials * math.e))
    )


def deflated_sharpe(
    *,
    sharpe: float,
    sharpes: F64,
    skewness: float,
    kurtosis: float,
    sessions: int,
    trials: float | None = None,
    periods_per_year: float = SESSIONS_PER_YEAR,
) -> float:
    """Deflated Sharpe ratio of a best trial with annualised ``sharpe`` (over
    ``periods_per_year``) from ``sessions`` returns of that skewness and (non-excess)
    kurtosis. The trials' Sharpe ratios ``sharpes`` give their variance; ``trials`` is
    their effective number (default: the count of finite ``sharpes``). NaN with fewer
    than two trials or three sessions."""
    finite = sharpes[np.isfinite(sharpes)]
    count = float(len(finite)) if trials is None else float(trials)
    if len(finite) < 2 or count < 2 or sessions < 3:
        return math.nan
    per = sharpe / math.sqrt(periods_per_year)
    var = float(np.var(finite / math.sqrt(periods_per_year), ddof=1))
    expected_max = expected_max_sharpe(variance=var, trials=count)
    denom = math.sqrt(max(1 - skewness * per + (kurtosis - 1) / 4 * per * per, 1e-12))
    return float(ndtr((per - expected_max) * math.sqrt(sessions - 1) / denom))


def effective_trials(returns: F64, rows: NDArray[np.intp] | None = None) -> float:
    """Li and Ji's effective number of independent series among the rows of
    ``returns`` (trials x periods; NaN periods count as 0, constant rows are dropped),
    or among ``rows`` of it. The periods x periods Gram matrix is summed over batches of
    rows, so a memory-mapped ``returns`` is never read whole."""
    index = np.arange(returns.shape[0]) if rows is None else np.asarray(rows)
    gram = np.zeros((returns.shape[1], returns.shape[1]))
    count = 0
    for lo in range(0, len(index), BATCH):
        x = np.nan_to_num(np.asarray(returns[index[lo : lo + BATCH]], dtype=np.float64))
        release(returns)
        x = x - x.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(x, axis=1)
        x = x[norms > 0] / norms[norms > 0, None]
        gram += x.T @ x
        count += len(x)
    if count == 0:
        return 0.0
    # nonzero eigenvalues of the trials' correlation matrix X X^T are those of X^T X
    eig = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    return float(np.sum((eig >= 1.0) + (eig - np.floor(eig))))
