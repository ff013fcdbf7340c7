"""Runs a suite with Great Expectations and returns a plain, printable report.

GX has no Polars datasource: frames cross to pandas here, with date columns as ISO
strings (so value sets and comparisons are plain strings). The context is ephemeral
(nothing is written to disk or the home directory); analytics are disabled in its
configuration (GX 1.x reads no analytics variable from the environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import great_expectations as gx
import polars as pl
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from expectations.rules import CRITICAL, Rule, Suite

EXAMPLES = 5


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    frame: str
    severity: str
    success: bool
    unexpected: int
    examples: tuple[str, ...]
    reason: str
    error: str | None = None


@dataclass(frozen=True)
class Report:
    """Outcome of one suite on one table state."""

    table: str
    suite: str
    rows: int
    outcomes: tuple[RuleOutcome, ...]

    @property
    def failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == CRITICAL]

    @property
    def warnings(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity != CRITICAL]

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line per failing rule, naming the table, the rule and example rows."""
        lines = []
        for o in self.failures + self.warnings:
            kind = "failed" if o.severity == CRITICAL else "warning"
            examples = f", e.g. {', '.join(o.examples)}" if o.examples else ""
            detail = o.error or f"{o.unexpected} rows{examples}"
            lines.append(f"{self.table}: rule '{o.rule}' {kind}: {detail}")
        return "\n".join(lines) if lines else f"{self.table}: all {len(self.outcomes)} rules pass"


@cache
def _batch_definition() -> Any:
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("alvh").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def _to_pandas(frame: pl.DataFrame) -> Any:
    """The frame in pandas, dates as ISO strings (types are checked before, on Polars)."""
    return frame.with_columns(pl.col(pl.Date).dt.to_string("%Y-%m-%d")).to_pandas()


def _examples(result: dict[str, Any], index: Sequence[str]) -> tuple[str, ...]:
    rows = result.get("partial_unexpected_index_list") or []
    if rows and index:
        shown = [" ".join(f"{k}={row.get(k)}" for k in index) for row in rows[:EXAMPLES]]
    else:
        shown = [repr(v) for v in (result.get("partial_unexpected_list") or [])[:EXAMPLES]]
    return tuple(shown)


def validate(suite: Suite) -> Report:
    """Run every rule of ``suite`` on its frames; one GX batch per frame."""
    orphans = sorted({r.name for r in suite.rules if r.frame not in suite.frames})
    if orphans:
        raise ValueError(f"{suite.table}: rules on frames the suite lacks: {', '.join(orphans)}")
    batch_definition = _batch_definition()  # the context must exist before any suite
    outcomes: list[RuleOutcome] = []
    for frame_name, frame in suite.frames.items():
        rules = [r for r in suite.rules if r.frame == frame_name]
        if not rules:
            continue
        index = [c for c in suite.index.get(frame_name, ()) if c in frame.columns]
        gx_suite = gx.ExpectationSuite(name=f"{suite.table}.{frame_name}")
        by_id: dict[int, Rule] = {}
        for i, rule in enumerate(rules):
            expectation = rule.expectation.copy(update={"meta": {"rule_id": i}})
            gx_suite.add_expectation(expectation)
            by_id[i] = rule
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _to_pandas(frame)})
        result_format: dict[str, Any] = {"result_format": "SUMMARY"}
        if index:
            result_format["unexpected_index_column_names"] = index
        results = batch.validate(gx_suite, result_format=result_format)
        for r in results.results:
            rule = by_id[int(r.expectation_config.meta["rule_id"])]
            raised = r.exception_info.get("raised_exception", False)
            outcomes.append(
                RuleOutcome(
                    rule=rule.name,
                    frame=frame_name,
                    severity=rule.severity,
                    success=bool(r.success),
                    unexpected=int(r.result.get("unexpected_count") or 0),
                    examples=_examples(r.result, index),
                    reason=rule.reason,
                    error=str(r.exception_info.get("exception_message")) if raised else None,
                )
            )
    return Report(suite.table, suite.name, suite.frames["table"].height, tuple(outcomes))
