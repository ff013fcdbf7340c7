"""Display formats of the metrics (labels and units: the metric registry,
:mod:`transforms.backtest.metric_registry`)."""

from __future__ import annotations

import math

from transforms.backtest.metric_registry import COUNT, DOLLARS, INDEX, PERCENT, RATIO, REGISTRY

__all__ = ["COUNT", "DOLLARS", "INDEX", "PERCENT", "RATIO", "UNITS", "fmt"]

UNITS: dict[str, tuple[str, str]] = {k: (m.label, m.unit) for k, m in REGISTRY.items()}
"""Metric -> (label, unit)."""


def fmt(value: object, unit: str) -> str:
    """A value as shown on a page: percent with one decimal, dollars with thousands
    separators, ratios with two decimals or three significant places, 'n/a' for
    missing values."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    v = float(value)
    if unit == PERCENT:
        return f"{v * 100:,.1f} %"
    if unit == DOLLARS:
        return f"{v:,.0f}"
    if unit == COUNT:
        return f"{v:,.0f}"
    if unit == INDEX:
        return f"{v:,.1f}"
    return f"{v:,.2f}" if abs(v) >= 0.1 or v == 0 else f"{v:.3g}"
