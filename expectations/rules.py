"""The vocabulary of a data contract: a rule is one GX expectation with a name and a
severity; a suite is the rules of one table plus the frames they look at.

A ``critical`` rule that fails blocks the batch (core keeps its last good state); a
``warning`` is recorded and reported but does not block. Every exception to a rule and
every warning says why in ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl
from great_expectations.expectations.expectation import Expectation

CRITICAL = "critical"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    """One expectation on one frame of a suite (``frame`` names it; default the table)."""

    name: str
    expectation: Expectation
    severity: str = CRITICAL
    reason: str = ""
    frame: str = "table"


@dataclass(frozen=True)
class Suite:
    """The rules of one table and the frames they run on.

    ``frames["table"]`` is the table itself; other frames are views prepared for
    calendar, cross-table or time-series rules. ``index`` names the columns that identify
    a row of each frame in failure examples.
    """

    table: str
    rules: tuple[Rule, ...]
    frames: dict[str, pl.DataFrame]
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.table}.suite"
