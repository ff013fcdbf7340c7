"""Selection statistics: how much of a sweep's best result is selection, not skill.

* :mod:`~transforms.selection.dsr`: the deflated Sharpe ratio (Bailey and Lopez de
  Prado 2014) over an effective number of distinct trials;
* :mod:`~transforms.selection.blocks`: per-month sums of each configuration's daily
  returns and R-squared band days, from which any window's statistics follow;
* :mod:`~transforms.selection.pbo`: the probability of backtest overfitting by
  combinatorially symmetric cross-validation (Bailey, Borwein, Lopez de Prado and Zhu 2015);
* :mod:`~transforms.selection.walk_forward`: folds, selection on each training window
  only, and the stitched out-of-sample series.

All of it is pure (arrays in, arrays out) and tested without the warehouse.
"""
