"""Pages from :mod:`transforms.report` figures: Plotly charts in one Jinja2 layout.

Every chart is a Plotly figure with a legend, formatted ticks (percent for fractions,
thousands separators for dollars) and a fixed height; every table fits the page (it
scrolls inside its box). ``plotly.min.js`` is written once per folder
(:func:`write_assets`); pages load it by relative path, so they open from ``file://``
with no network.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs

from transforms.report.backtest import BacktestPage
from transforms.report.formats import DOLLARS, PERCENT, RATIO, fmt
from transforms.report.market import MarketPage
from transforms.report.sweep import HEATMAPS, SweepPage
from transforms.report.today import TodayPage
from transforms.report.track import TrackPage

PLOTLY_JS = "plotly.min.js"
HEIGHT = 380
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#7f7f7f")
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class Section:
    title: str
    body: str
    caption: str = ""

    @property
    def anchor(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.title.lower())


def write_file(path: Path, text: str) -> Path:
    """``text`` to ``path`` through a temporary file: no half-written page, and no
    temporary file left when the write fails (the OSError names ``path``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    return path


def write_assets(folder: Path) -> None:
    """Plotly's JavaScript beside the pages (written once; about 4.8 MB)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PLOTLY_JS
    if not target.is_file():
        write_file(target, get_plotlyjs())


def page(
    *,
    title: str,
    subtitle: str,
    sections: Sequence[Section],
    headline: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> str:
    return _ENV.get_template("page.html.j2").render(
        title=title, subtitle=subtitle, sections=sections, headline=headline or {}, notes=notes
    )


def stamp(text: str, *, market: str, warehouse: str, snapshot: str) -> str:
    """``text`` (a page) with the line naming its market, warehouse and data snapshot."""
    m, w, d = (html.escape(v) for v in (market, warehouse, snapshot))
    line = f'<p class="market" data-market="{m}">{m} market · warehouse {w} · data snapshot {d}</p>'
    return text.replace("<!--market-->", line, 1)


def _layout(
    fig: go.Figure, *, y_format: str = "", y_title: str = "", log: bool = False
) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        hovermode="x unified",
    )
    fig.update_yaxes(tickformat=y_format, title_text=y_title)
    if log:
        fig.update_yaxes(type="log")
    return fig


def chart(fig: go.Figure, name: str) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"chart-{name}",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart" data-chart="{html.escape(name)}">{body}</div>'


def _cell(value: Any, formatter: Callable[[Any], str] | None) -> tuple[str, str]:
    """(text shown, sort key)."""
    if formatter is not None:
        text = formatter(value)
    elif isinstance(value, float):
        text = fmt(value, RATIO)
    else:
        text = "" if value is None else str(value)
    key = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text, key


def table(
    frame: pl.DataFrame,
    *,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    sortable: bool = False,
    wrap: Sequence[str] = (),
    name: str = "",
) -> str:
    """An HTML table of ``frame`` (text columns left, numbers right; ``wrap`` columns
    break long text)."""
    formats = formats or {}
    text_cols = {c for c, t in frame.schema.items() if t in (pl.String, pl.Date)}
    head = "".join(
        f'<th class="{"t" if c in text_cols else ""}">{html.escape(c.replace("_", " "))}</th>'
        for c in frame.columns
    )
    rows = []
    for row in frame.iter_rows():
        cells = []
        for c, v in zip(frame.columns, row, strict=True):
            text, key = _cell(v, formats.get(c))
            css = "wrap" if c in wrap else ("t" if c in text_cols else "")
            cells.append(f'<td class="{css}" data-v="{html.escape(key)}">{html.escape(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cls = "sortable" if sortable else ""
    return (
        f'<div class="table-wrap"><table class="{cls}" data-table="{html.escape(name)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _pct(v: Any) -> str:
    return fmt(v, PERCENT)


def _usd(v: Any) -> str:
    return fmt(v, DOLLARS)


def _lines(frame: pl.DataFrame, columns: Sequence[str], **layout: Any) -> go.Figure:
    fig = go.Figure()
    x = frame["date"].to_list()
    for k, c in enumerate(columns):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=frame[c].to_list(),
                name=c,
                mode="lines",
                line={"width": 1.4, "color": COLORS[k % len(COLORS)]},
            )
        )
    return _layout(fig, **layout)


def _r2_chart(frame: pl.DataFrame, columns: Sequence[str], band: tuple[float, float]) -> go.Figure:
    """Rolling R² lines with the target band shaded."""
    fig = _lines(frame, columns, y_format=".1f", y_title="rolling 60-day R²")
    fig.add_hrect(
        y0=band[0],
        y1=band[1],
        fillcolor="#2ca02c",
        opacity=0.12,
        line_width=0,
        annotation_text=f"band {band[0]:g}-{band[1]:g}",
    )
    return fig


# --- backtest ------------------------------------------------------------------------


def backtest_html(p: BacktestPage) -> str:
    curves = _lines(
        p.curves,
        ["book", "equity_only", "spx"],
        y_format="~g",
        y_title="growth of 1 (log scale)",
        log=True,
    )
    curves.update_yaxes(dtick="D2")  # 1, 2, 5 per decade: no crowded or 0.00 ticks
    dd = _lines(p.drawdown, ["drawdown"], y_format=".0%", y_title="below the peak")
    dd.update_traces(fill="tozeroy")
    sleeves = _lines(
        p.sleeves,
        [c for c in p.sleeves.columns if c != "date"],
        y_format=",.0f",
        y_title="cumulative P&L, dollars",
    )
    r2 = _r2_chart(p.r2, ["hedged", "unhedged"], p.band)
    hedge = _lines(p.hedge, ["hedge_ratio"], y_format=".2f", y_title="h")
    for frame, name, symbol, color in (
        (p.steps, "controller step", "triangle-up", "#2ca02c"),
        (p.cuts, "liquidity cut", "x", "#d62728"),
    ):
        hedge.add_trace(
            go.Scatter(
                x=frame["date"].to_list(),
                y=frame["hedge_ratio"].to_list(),
                mode="markers",
                name=f"{name} ({frame.height})",
                marker={"symbol": symbol, "color": color, "size": 7},
            )
        )
    scalers = go.Figure()
    for k, c in enumerate(c for c in p.scalers.columns if c != "date"):
        on = p.scalers.filter(pl.col(c) == 1)
        scalers.add_trace(
            go.Scatter(
                x=on["date"].to_list(),
                y=[c] * on.height,
                mode="markers",
                name=f"{c} ({on.height} days)",
                marker={"symbol": "line-ns-open", "size": 10, "color": COLORS[k]},
            )
        )
    _layout(scalers)
    scalers.update_layout(height=220, hovermode="closest")
    vega = _lines(
        p.vega,
        ["condor_vega", "hedge_vega"],
        y_format=",.0f",
        y_title="dollars per vol / VIX point",
    )
    stress = table(p.stress, formats={"condor_loss": _usd, "hedge_pnl": _usd}, name="stress")
    sections = [
        Section(
            "Equity",
            chart(curves, "equity"),
            "The book against the same book's equity sleeve alone and SPX (price index), "
            "each rebased to 1.",
        ),
        Section("Drawdown", chart(dd, "drawdown")),
        Section(
            "P&L by sleeve",
            chart(sleeves, "sleeves"),
            "Cumulative dollars; costs are already inside each sleeve and shown again on "
            "their own.",
        ),
        Section(
            "Rolling R² against SPX",
            chart(r2, "r2"),
            "60-session R² of daily returns, with and without the second engine; the "
            "target band shaded.",
        ),
        Section(
            "Hedge ratio",
            chart(hedge, "hedge"),
            "The R² controller's steps and the liquidity-reserve cuts marked.",
        ),
        Section(
            "Scalers",
            chart(scalers, "scalers")
            if any(len(t.x) for t in scalers.data)
            else "<p>No scaler was on during this run.</p>",
            "Sessions on which each adaptive scaler was on.",
        ),
        Section("Condor vega against hedge vega", chart(vega, "vega")),
        Section(
            "Stress windows",
            stress if p.stress.height else "<p>No stress window lies inside this run.</p>",
            "Offset = second-engine P&L / condor loss over SPX's closing high to closing low.",
        ),
        Section(
            "Trades",
            table(p.trades, formats={"cost": _usd}, sortable=True, name="trades")
            if p.trades.height
            else "<p>No trades.</p>",
            f"{p.trades.height:,} trades and events; click a header to sort. Quantities are "
            "in contracts and may be fractional: the book is a research scale model (hedge "
            "contracts are sized to a vega, not rounded; transforms/backtest/book.py).",
        ),
        Section("Metrics", table(p.metrics, name="metrics")),
        Section(
            "Lineage",
            table(
                pl.DataFrame({"what": list(p.lineage), "value": list(p.lineage.values())}),
                wrap=["value"],
                name="lineage",
            ),
        ),
    ]
    return page(
        title=f"Backtest {p.run_id}",
        subtitle=p.lineage["sessions"],
        sections=sections,
        headline=p.headline,
        notes=p.notes,
    )


# --- sweep ---------------------------------------------------------------------------


PRECISION = 0.005
"""What a heatmap's values must span to be drawn in colour: below it (half the last
digit shown, a Sharpe ratio's 0.01 or half a percent) every cell reads the same."""


def color_scale(z: np.ndarray, *, pct: bool) -> tuple[float, float, str] | str:
    """(zmin, zmax, tick format) for a heatmap of ``z``: bounded by the finite values
    (and by [0, 1] for shares of days), with enough decimals for distinct ticks; or a
    sentence when there is nothing to colour."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return "No configuration has a value here."
    low, high = float(finite.min()), float(finite.max())
    if pct:
        low, high = max(low, 0.0), min(high, 1.0)
    if high - low < PRECISION:
        shown = f"{low:.1%}" if pct else f"{low:.2f}"
        return (
            f"Every cell shows {shown}: the values differ by less than the metric's precision "
            f"({PRECISION:g}), so there is no colour scale to draw."
        )
    return low, high, tick_format(low, high, pct=pct)


def tick_format(low: float, high: float, *, pct: bool) -> str:
    """A d3 format with enough decimals that about five ticks over [low, high] read
    apart (at least two for ratios)."""
    step = max(high - low, 1e-12) / 4
    decimals = max(0, math.ceil(-math.log10(step * (100 if pct else 1))))
    return f".{decimals}%" if pct else f".{max(decimals, 2)}f"


def sweep_html(p: SweepPage) -> str:
    rec = p.record
    sections = []
    for metric, label in HEATMAPS.items():
        grid = p.heatmaps[metric]
        if grid.is_empty():
            continue
        cols = [c for c in grid.columns if c != "band"]
        pct = metric in ("time_in_band", "hedge_cost_flat")
        z = grid.select(cols).to_numpy().astype(float)
        scale = color_scale(z, pct=pct)
        if isinstance(scale, str):
            sections.append(
                Section(f"{label} by hedge ratio and band", f"<p>{html.escape(scale)}</p>")
            )
            continue
        zmin, zmax, ticks = scale
        fig = go.Figure(
            go.Heatmap(
                z=z,
                x=[float(c) for c in cols],
                y=grid["band"].to_list(),
                colorscale="RdYlGn",
                zmin=zmin,
                zmax=zmax,
                colorbar={"tickformat": ticks},
                hovertemplate="h %{x}<br>band %{y}<br>%{z:"
                + (".1%" if pct else ".3f")
                + "}<extra></extra>",
            )
        )
        _layout(fig)
        fig.update_layout(hovermode="closest", height=300)
        fig.update_xaxes(title_text="hedge ratio h")
        fig.update_yaxes(title_text="R² band")
        sections.append(
            Section(
                f"{label} by hedge ratio and band",
                chart(fig, f"heat-{metric}"),
                "Each cell: the best configuration with that h and band over the sweep's "
                "other dimensions.",
            )
        )
    if p.scatter.height:
        front = p.scatter.filter(pl.col("pareto")).sort("sharpe")
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=p.scatter["time_in_band"].to_list(),
                y=p.scatter["sharpe"].to_list(),
                mode="markers",
                name="configurations",
                marker={"size": 4, "opacity": 0.5},
                text=p.scatter["config_hash"].to_list(),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=front["time_in_band"].to_list(),
                y=front["sharpe"].to_list(),
                mode="lines+markers",
                name=f"Pareto front ({front.height})",
                line={"color": "#d62728"},
            )
        )
        band = p.scatter["time_in_band"].fill_nan(None).drop_nulls()
        low = max(float(band.min() or 0.0) - 0.02, 0.0)  # type: ignore[arg-type]
        high = min(float(band.max() or 0.0) + 0.02, 1.0)  # type: ignore[arg-type]
        sharpe = p.scatter["sharpe"].fill_nan(None).drop_nulls()
        y_low, y_high = float(sharpe.min() or 0.0), float(sharpe.max() or 0.0)  # type: ignore[arg-type]
        _layout(fig, y_format=tick_format(y_low, y_high, pct=False), y_title="Sharpe ratio")
        fig.update_xaxes(
            tickformat=tick_format(low, high, pct=True),
            title_text="time in band",
            range=[low, high],
        )
        fig.update_layout(hovermode="closest")
        sections.append(Section("Sharpe ratio against time in band", chart(fig, "pareto")))
    if len(p.sharpes) > 1:
        fig = go.Figure(go.Histogram(x=p.sharpes.tolist(), name="trials", nbinsx=50))
        dsr = rec.get("deflated_sharpe")
        label = f"highest {p.best_sharpe:.2f}" + (
            f", deflated Sharpe of the ranked best {dsr:.3f}" if dsr is not None else ""
        )
        fig.add_vline(x=p.best_sharpe, line_color="#d62728", annotation_text=label)
        _layout(fig, y_title="configurations")
        fig.update_xaxes(title_text="Sharpe ratio")
        fig.update_layout(hovermode="closest", showlegend=True)
        sections.append(
            Section(
                "Distribution of trial Sharpe ratios",
                chart(fig, "distribution"),
                f"{len(p.sharpes):,} of the {p.living:,} configurations that were never "
                "ruined (those with a Sharpe ratio); "
                f"{rec.get('trials_counted', 'n/a')} effective trials counted on this data.",
            )
        )
    if p.frontier.height:
        sections += _frontier_sections(p.frontier)
    if p.top.height:
        sections.append(
            Section(
                "Top configurations",
                table(
                    p.top,
                    formats={"time_in_band": _pct},
                    wrap=["differs_from_defaults"],
                    name="top",
                ),
                f"By {rec.get('rank_metric', 'sharpe')}, with the parameters that differ "
                "from the defaults.",
            )
        )
    if p.ruined.height:
        sections.append(
            Section(
                f"Ruined configurations ({p.ruined.height:,})",
                table(p.ruined, wrap=["differs_from_defaults"], sortable=True, name="ruined"),
                "Equity reached zero on the ruin date: these books are stored but never "
                "ranked or drawn above.",
            )
        )
    headline = {
        "configurations": f"{rec.get('configurations', 0):,}",
        "living": f"{p.living:,}",
        "ruined": f"{p.ruined.height:,}",
        f"best {rec.get('rank_metric', 'sharpe')}": fmt(rec.get("best_value"), RATIO),
        "deflated Sharpe of the best": fmt(rec.get("deflated_sharpe"), RATIO),
        "overlay deflated Sharpe": fmt(rec.get("overlay_deflated_sharpe"), RATIO),
        "PBO among survivors": fmt(rec.get("pbo_survivors"), RATIO),
        "PBO among all": fmt(rec.get("pbo"), RATIO),
        "ruin rate": fmt(rec.get("ruin_rate"), PERCENT),
        "out-of-sample Sharpe (walk-forward)": fmt(rec.get("oos_sharpe"), RATIO),
    }
    return page(
        title=f"Sweep {p.sweep_id}",
        subtitle=f"code {rec.get('code_version')}, data {rec.get('data_snapshot')}",
        sections=sections,
        headline=headline,
        notes=p.notes,
    )


def _frontier_sections(rows: pl.DataFrame) -> list[Section]:
    """The R-squared frontier: out-of-sample time in band against the hedge's P&L per
    year, a marker per band and sizing rule, and the table."""
    measured = rows.filter(pl.col("config_hash").is_not_null())
    fig = go.Figure()
    for k, (rule,) in enumerate(measured.select("rule").unique(maintain_order=True).iter_rows()):
        part = measured.filter(pl.col("rule") == rule)
        fig.add_trace(
            go.Scatter(
                x=part["hedge_pnl_per_year"].to_list(),
                y=part["time_in_band"].to_list(),
                mode="markers+text",
                name=rule,
                text=[
                    f"{a:g}-{b:g}" for a, b in zip(part["band_low"], part["band_high"], strict=True)
                ],
                textposition="top center",
                marker={"size": 10, "color": COLORS[k % len(COLORS)]},
            )
        )
    _layout(fig, y_format=".0%", y_title="time in band after the hold-out")
    in_band = measured["time_in_band"].fill_nan(None).drop_nulls()
    top = float(in_band.max() or 0.0) if in_band.len() else 1.0  # type: ignore[arg-type]
    fig.update_yaxes(range=[0.0, min(top + 0.08, 1.05)])  # room for the labels above
    fig.update_xaxes(title_text="hedge P&L per year, share of equity", tickformat=".1%")
    fig.update_layout(hovermode="closest", showlegend=True)
    shown = rows.with_columns(
        pl.format("{}-{}", "band_low", "band_high").alias("band")
    ).select(
        "band", "rule", "configurations", "hedge_ratio", "in_sample_time_in_band",
        "time_in_band", "out_level", "out_variability", "r2_mean", "r2_std",
        "hedge_pnl_per_year", "time_in_band_120", "time_in_band_250",
    )  # fmt: skip
    shares = ("in_sample_time_in_band", "time_in_band", "out_level", "out_variability")
    shares += ("hedge_pnl_per_year", "time_in_band_120", "time_in_band_250")
    return [
        Section(
            "R² frontier: time in band against what the hedge costs",
            chart(fig, "frontier"),
            "Per R² band and hedge sizing rule, the configuration with the most time in band "
            "before the hold-out, measured after it.",
        ),
        Section(
            "R² frontier: why the days out of band are out",
            table(shown, formats=dict.fromkeys(shares, _pct), name="frontier", sortable=True),
            "Out by level: the R²'s trailing one-year mean is outside the band too (more or "
            "less hedge would move it). Out by variability: the mean is inside and the "
            "60-session R² swings across the edge. Time in band with 120- and 250-session "
            "R² windows is a diagnostic: a longer window swings less.",
        ),
    ]


# --- today's book ----------------------------------------------------------------------


def today_html(p: TodayPage) -> str:
    r2 = _r2_chart(p.r2_history, ["r2"], p.band)
    has_r2 = p.r2_history["r2"].fill_nan(None).drop_nulls().len() > 0
    sections = [
        Section(
            "R² against SPX",
            chart(r2, "r2") if has_r2 else "<p>No rolling R² in the last year of the run.</p>",
            "The last year of the saved book's rolling R².",
        )
    ]
    if "combined" in p.payoff.columns:
        fig = go.Figure()
        for k, c in enumerate(("condor", "hedge", "combined")):
            fig.add_trace(
                go.Scatter(
                    x=p.payoff["spx"].to_list(),
                    y=p.payoff[c].to_list(),
                    name=c,
                    mode="lines",
                    line={"color": COLORS[k]},
                )
            )
        for b in p.break_evens:
            fig.add_vline(x=b, line_dash="dot", annotation_text=f"{b:,.0f}")
        for b in p.combined_break_evens:
            fig.add_vline(x=b, line_dash="dash", line_color=COLORS[2])
        _layout(fig, y_format=",.0f", y_title="P&L at the condor's expiry, dollars")
        fig.update_xaxes(title_text="SPX at expiry")
        fig.update_layout(hovermode="closest")
        sections.append(
            Section(
                "Break-evens at the condor's expiry",
                chart(fig, "payoff"),
                "The condor's break-evens (dotted; as alvh backtest prints them): "
                + ", ".join(f"{b:,.1f}" for b in p.break_evens)
                + ". With the second engine's first-order P&L added (hedge vega x VIX move; "
                f"VIX moves {p.vix_beta:.2f} points per 1 % of SPX, trailing-year regression; "
                "its decay to expiry left out), dashed: "
                + (", ".join(f"{b:,.0f}" for b in p.combined_break_evens) or "none in ±20 %")
                + ".",
            )
        )
    sections.append(
        Section(
            "Positions",
            table(p.positions, wrap=["detail"], name="positions")
            if p.positions.height
            else "<p>No position is open.</p>",
        )
    )
    sections.append(
        Section(
            "Greeks",
            table(
                pl.DataFrame({"greek": list(p.greeks), "value": list(p.greeks.values())}),
                formats={"value": _usd},
                name="greeks",
            ),
            "Dollars: delta per SPX point, gamma per point², vega per vol point (condor) "
            "or VIX point (hedge), theta per day.",
        )
    )
    sections.append(
        Section(
            f"Next session: {p.next_session}",
            table(p.actions, wrap=["reason"], name="actions")
            if p.actions.height
            else "<p>No action.</p>",
            "The trades the engine makes when it steps the book one session forward at "
            "unchanged prices; a move on that session can trigger a profit take or a stop.",
        )
    )
    sections.append(
        Section(
            "Inputs",
            table(p.inputs, wrap=["effect"], name="inputs"),
            "Each input's last date against what it should hold for today's session; the "
            "book stands at the last session every required input holds.",
        )
    )
    headline = {
        "as of": str(p.as_of),
        "R² now": fmt(p.r2, RATIO),
        "break-evens": " / ".join(f"{b:,.1f}" for b in p.break_evens) or "none",
        "band": f"{p.band[0]:g}-{p.band[1]:g}",
        "next session": str(p.next_session),
    }
    return page(
        title="Today's book",
        subtitle=f"the saved book at the close of {p.as_of}; its track record: track.html",
        sections=sections,
        headline=headline,
        notes=p.notes,
    )


def track_html(p: TrackPage) -> str:
    sections = [
        Section(
            "P&L since the first ledger day",
            chart(_lines(p.pnl, ["ledger", "backtest"], y_format=",.0f"), "track")
            if p.pnl.height > 1
            else "<p>One ledger day so far: the P&amp;L since it starts with the next.</p>",
            f"What the ledger recorded each day (its first version of the day) against backtest "
            f"{p.run_id} over the same days, dollars. They differ on {p.differing} of "
            f"{p.pnl.height} days.",
        ),
        Section(
            "Ledger against backtest, day by day",
            table(p.pnl, formats={"ledger": _usd, "backtest": _usd}, wrap=["why"], name="pnl"),
        ),
        Section(
            "What the book said each day",
            table(
                p.days,
                formats={"equity": _usd},
                wrap=["actions", "stale"],
                sortable=True,
                name="ledger",
            ),
            "results.signal_ledger: every version of every day (a later version is a revision "
            "of that day's inputs; the earlier one is kept).",
        ),
    ]
    headline = {
        "ledger days": f"{p.pnl.height:,}",
        "revised days": f"{p.revised:,}",
        "differing days": f"{p.differing:,}",
    }
    return page(
        title="Track record",
        subtitle=f"book {p.book}: its signal ledger since {p.pnl['date'][0]}",
        sections=sections,
        headline=headline,
    )


# --- weekly market review -----------------------------------------------------------------


def market_html(p: MarketPage) -> str:
    sections = []
    if p.curves.height:
        fig = go.Figure()
        for k, label in enumerate(p.curves["label"].unique(maintain_order=True).to_list()):
            c = p.curves.filter(pl.col("label") == label)
            fig.add_trace(
                go.Scatter(
                    x=[f"M{m}" for m in c["month"].to_list()],
                    y=c["settle"].to_list(),
                    name=label,
                    mode="lines+markers",
                    line={"color": COLORS[k]},
                )
            )
        _layout(fig, y_format=".1f", y_title="settlement, VIX points")
        fig.update_layout(hovermode="closest")
        sections.append(Section("The VX curve", chart(fig, "curve")))
    term = _lines(
        p.term,
        ["contango_pct", "roll_yield_m1", "roll_yield_m2"],
        y_format=".1f",
        y_title="percent",
    )
    sections.append(
        Section(
            "Contango and roll yield",
            chart(term, "term"),
            "M1 to M2 contango and each month's roll yield, percent.",
        )
    )
    vix = make_two_axes(p.vix, "vix_close", "vix_rsi_14", "VIX", "RSI(14)")
    sections.append(Section("VIX and its RSI", chart(vix, "vix")))
    if p.breadth.height:
        fig = go.Figure()
        x = p.breadth["date"].to_list()
        fig.add_trace(
            go.Bar(
                x=x, y=p.breadth["ad_macd_hist"].to_list(), name="histogram", marker_color="#bbb"
            )
        )
        fig.add_trace(go.Scatter(x=x, y=p.breadth["ad_macd"].to_list(), name="MACD", mode="lines"))
        fig.add_trace(
            go.Scatter(x=x, y=p.breadth["ad_macd_signal"].to_list(), name="signal", mode="lines")
        )
        _layout(fig, y_format=",.0f")
        sections.append(
            Section(
                "NYSE advance/decline line: MACD(12, 26, 9)",
                chart(fig, "breadth"),
                f"Breadth data ends {p.breadth_end}.",
            )
        )
    if p.macro.height:
        fig = go.Figure()
        fig.add_trace(
            go.Scatter(
                x=p.macro["public_date"].to_list(),
                y=p.macro["cpi_ppi_z"].to_list(),
                mode="lines+markers",
                name="CPI-PPI z (at release)",
                text=[str(m) for m in p.macro["reference_month"].to_list()],
            )
        )
        _layout(fig, y_format=".1f", y_title="z-score (36 months)")
        sections.append(
            Section(
                "CPI-PPI spread z-score", chart(fig, "macro"), "Each point on its release date."
            )
        )
    sections.append(
        Section(
            "This week's scalers",
            "<ul class='sentences'>"
            + "".join(f"<li>{html.escape(s)}</li>" for s in p.scalers)
            + "</ul>",
        )
    )
    headline = {"as of": str(p.as_of), "next FOMC": str(p.next_fomc)}
    return page(
        title="Weekly market review",
        subtitle=f"signals to the close of {p.as_of}",
        sections=sections,
        headline=headline,
        notes=p.notes,
    )


def make_two_axes(
    frame: pl.DataFrame, left: str, right: str, left_title: str, right_title: str
) -> go.Figure:
    fig = go.Figure()
    x = frame["date"].to_list()
    fig.add_trace(go.Scatter(x=x, y=frame[left].to_list(), name=left_title, mode="lines"))
    fig.add_trace(
        go.Scatter(x=x, y=frame[right].to_list(), name=right_title, mode="lines", yaxis="y2")
    )
    _layout(fig, y_format=".0f", y_title=left_title)
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "title": right_title,
            "range": [0, 100],
            "tickvals": [0, 30, 50, 70, 100],
        }
    )
    return fig


# --- replication and validation ----------------------------------------------------------


def replication_html(
    index: str, daily: pl.DataFrame, summary: pl.DataFrame, percent: Sequence[str]
) -> str:
    """One index: ours against published (log scale, rebased) and its tracking figures."""
    frame = (
        daily.with_columns(pl.col("ours", "published").fill_nan(None))
        .drop_nulls(["ours", "published"])
        .sort("date")
    )
    if frame.is_empty():
        raise ValueError(f"{index}: nothing to chart")
    fig = _lines(
        frame, ["ours", "published"], y_format=".2f", y_title="level (log scale)", log=True
    )
    err = _lines(
        frame.with_columns(pl.col("error").fill_null(0.0)),
        ["error"],
        y_format=".2%",
        y_title="daily log-return error",
    )
    table_ = table(summary, formats=dict.fromkeys(percent, _pct), name="tracking")
    sections = [
        Section("Ours against published", chart(fig, "levels")),
        Section("Daily error", chart(err, "errors"), "Our log return less the published one."),
        Section(
            "Tracking", table_, "Percent: tracking error and returns annualised, drift per year."
        ),
    ]
    return page(
        title=f"Replication: {index}",
        subtitle=f"{frame['date'][0]} .. {frame['date'][-1]}",
        sections=sections,
    )


def validation_html(title: str, tables: Sequence[tuple[str, int, bool, pl.DataFrame]]) -> str:
    """Suite results: (table, rows, passed, outcomes: rule, severity, result, rows,
    examples, why)."""
    names = [t for t, _, _, _ in tables]
    failed = [int((o["result"] != "pass").sum()) for _, _, _, o in tables]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[o.height - f for (_, _, _, o), f in zip(tables, failed, strict=True)],
            name="passed",
            marker_color="#2ca02c",
        )
    )
    fig.add_trace(go.Bar(x=names, y=failed, name="failed or warned", marker_color="#d62728"))
    _layout(fig, y_title="rules")
    fig.update_layout(barmode="stack", hovermode="closest", height=300)
    sections = [Section("Rules per table", chart(fig, "rules"))]
    for name, rows, passed, outcomes in tables:
        sections.append(
            Section(
                f"{name}: {rows:,} rows, {'passed' if passed else 'FAILED'}",
                table(outcomes, wrap=["examples", "why"], name=name),
            )
        )
    headline = {
        "tables": str(len(tables)),
        "failed tables": str(sum(1 for *_, p, _ in tables if not p)),
    }
    return page(
        title=f"Validation {title}",
        subtitle="Great Expectations suites, one per table",
        sections=sections,
        headline=headline,
    )


def index_html(entries: pl.DataFrame) -> str:
    """Links to every page: kind, title, file, written."""
    links = entries.with_columns(
        pl.format('<a href="{}">{}</a>', pl.col("file"), pl.col("title")).alias("page")
    )
    rows = "".join(
        f"<tr><td class='t'>{html.escape(k)}</td><td class='t'>{p}</td>"
        f"<td class='t'>{html.escape(str(w))}</td></tr>"
        for k, p, w in links.select("kind", "page", "written").iter_rows()
    )
    head = "".join(f"<th class='t'>{h}</th>" for h in ("kind", "page", "written"))
    body = (
        f"<div class='table-wrap'><table class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )
    return page(
        title="alvh reports", subtitle=f"{entries.height} pages", sections=[Section("Pages", body)]
    )
