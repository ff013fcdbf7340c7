"""A self-contained HTML page per index: ours against published, cumulative (inline SVG,
log scale, no script or network), with the tracking figures underneath."""

from __future__ import annotations

import html
import math

import numpy as np
import polars as pl

WIDTH, HEIGHT, PAD = 960, 420, 60
FONT = 'font-size="11"'
STYLE = (
    "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:right;font-size:12px}"
)


def _path(x: np.ndarray, y: np.ndarray) -> str:
    return " ".join(
        f"{'M' if k == 0 else 'L'}{a:.1f},{b:.1f}"
        for k, (a, b) in enumerate(zip(x, y, strict=True))
    )


def chart_html(index: str, daily: pl.DataFrame, summary: pl.DataFrame) -> str:
    """``daily``: date, ours, published (one index); ``summary``: its tracking rows."""
    frame = (
        daily.with_columns(pl.col("ours", "published").fill_nan(None))
        .drop_nulls(["ours", "published"])
        .sort("date")
    )
    if frame.is_empty():
        raise ValueError(f"{index}: nothing to chart")
    days = frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64).astype(np.float64)
    ours, pub = np.log(frame["ours"].to_numpy()), np.log(frame["published"].to_numpy())
    lo, hi = float(min(ours.min(), pub.min())), float(max(ours.max(), pub.max()))
    hi = hi if hi > lo else lo + 1.0
    span = days[-1] - days[0] if days[-1] > days[0] else 1.0
    x = PAD + (days - days[0]) / span * (WIDTH - 2 * PAD)

    def y(v: np.ndarray) -> np.ndarray:
        return HEIGHT - PAD - (v - lo) / (hi - lo) * (HEIGHT - 2 * PAD)

    ticks = []
    for k in range(5):
        value = lo + (hi - lo) * k / 4
        ty = float(y(np.array([value]))[0])
        label = f"{math.exp(value):.4g}"
        ticks.append(f'<text x="{PAD - 6}" y="{ty:.1f}" text-anchor="end" {FONT}>{label}</text>')
    first, last = frame["date"][0], frame["date"][-1]
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
        for r in summary.iter_rows()
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in summary.columns)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(index)}: replica vs published</title>
<style>{STYLE}</style>
</head><body>
<h2>{html.escape(index)}: ours (blue) vs published (black), {first} .. {last}, log scale</h2>
<svg width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">
<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}"
 fill="none" stroke="#ccc"/>
{"".join(ticks)}
<text x="{PAD}" y="{HEIGHT - PAD + 18}" {FONT}>{first}</text>
<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 18}" {FONT} text-anchor="end">{last}</text>
<path d="{_path(x, y(pub))}" fill="none" stroke="black" stroke-width="1.2"/>
<path d="{_path(x, y(ours))}" fill="none" stroke="#1f77b4" stroke-width="1.2"
 stroke-dasharray="4 2"/>
</svg>
<table><tr>{head}</tr>{rows}</table>
</body></html>
"""


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
