"""What the report pages show, computed from warehouse frames (pure; no rendering).

One module per page type: :mod:`~transforms.report.backtest`, :mod:`~transforms.report.sweep`,
:mod:`~transforms.report.today` (today's book), :mod:`~transforms.report.market` (the
weekly market review). Each returns frames and figures; the rendering layer
(``report/``) only draws them.
"""
