"""Open a page in headless Chromium (the Debian package, driven by Playwright) and say
what a reader would see: console errors, requests beyond file://, charts and their
drawn traces."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Visit:
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: dict[str, int] = field(default_factory=dict)  # chart -> drawn traces
    figures: dict[str, str] = field(default_factory=dict)  # headline label -> text
    tables: dict[str, list[list[str]]] = field(default_factory=dict)


DRAWN = """() => {
  const out = {};
  document.querySelectorAll('div.chart').forEach(c => {
    const plot = c.querySelector('.js-plotly-plot');
    const marks = plot ? plot.querySelectorAll(
      '.scatterlayer .trace path.js-line, .scatterlayer .trace .point, .barlayer .trace .point,'
      + ' .heatmaplayer image, .heatmaplayer .hm, .scatterlayer .trace path.js-fill') : [];
    out[c.dataset.chart] = (plot && plot.data && marks.length) ? plot.data.length : 0;
  });
  return out;
}"""

FIGURES = """() => Object.fromEntries(Array.from(document.querySelectorAll('.figure')).map(
  f => [f.dataset.figure, f.querySelector('.v').textContent]))"""

TABLES = """() => Object.fromEntries(Array.from(document.querySelectorAll('table[data-table]')).map(
  t => [t.dataset.table, Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent))]))"""


def visit(page_path: Path, screenshot: Path) -> Visit:
    from playwright.sync_api import sync_playwright

    v = Visit()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: v.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: v.errors.append(str(e)))

            def request(r: Any) -> None:
                if not r.url.startswith("file://"):
                    v.requests.append(r.url)

            page.on("request", request)
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(300)
            v.charts = page.evaluate(DRAWN)
            v.figures = page.evaluate(FIGURES)
            v.tables = page.evaluate(TABLES)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return v
