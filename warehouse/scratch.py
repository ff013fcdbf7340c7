"""Scratch files a sweep spills its chunk results to (the engine receives the collector
as :class:`transforms.backtest.run.Collector`): the files go when nothing refers to the
sweep's result any more."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from transforms.backtest.params import group_key
from transforms.backtest.run import Evaluated, Plan, SweepResult
from transforms.selection.blocks import FIELDS, Blocks, release


class Scratch:
    """A scratch folder, removed by :meth:`remove` or once nothing refers to this object
    any more."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        self.remove = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)


@contextmanager
def discarding(result: SweepResult) -> Iterator[SweepResult]:
    """``result`` meanwhile; then its scratch files are removed, whether or not the block
    failed (a failed flow's state can hold its frames, and so the result, for as long as
    the process lives)."""
    try:
        yield result
    finally:
        if isinstance(result.keep, Scratch):
            result.keep.remove()


class SpillCollector:
    """A sweep's chunk results as they arrive, so that the memory a sweep holds grows
    with its chunk, not its grid: each chunk's metrics rows go to a Parquet file of a
    scratch folder, and the monthly sums (15 KB per configuration over 22 years) to a
    scratch file mapped in memory, at their configurations' rows, its pages released
    after each write. No sums when the configurations span several markets (no
    selection statistics then)."""

    def __init__(self, work: Plan) -> None:
        self.work = work
        self.scratch = Scratch("alvh-sweep-")
        self.parts: list[Path] = []
        self.order: list[int] = []
        self.blocks: Blocks | None = None
        if len(work.snapshots) == 1 and work.chunks:
            months = work.chunks[0][0].sessions.months
            shape = (len(FIELDS), len(work.members), len(months))
            with tempfile.TemporaryFile(prefix="alvh-blocks-") as scratch:  # the map keeps it
                self._sums = sums = np.memmap(scratch, np.float64, "w+", 0, shape)
            self.blocks = Blocks(
                months,
                {name: sums[j] for j, name in enumerate(FIELDS)},
                np.full(len(work.members), len(months), dtype=np.intp),
            )

    def add(self, part: Evaluated, members: Sequence[int]) -> None:
        path = self.scratch.path / f"rows-{len(self.parts):06d}.parquet"
        part.rows.write_parquet(path, compression="lz4", statistics=False)
        self.parts.append(path)
        self.order += members
        if self.blocks is not None:
            for name in FIELDS:
                self.blocks.sums[name][members] = part.blocks.sums[name]
            self.blocks.ruin[members] = part.blocks.ruin
            release(self._sums)  # written through to the scratch file

    def discard(self) -> None:
        self.scratch.remove()

    def result(self) -> SweepResult:
        runs = {group_key(configs[0]): run for run, configs in self.work.configs()}
        return SweepResult(
            pl.scan_parquet(self.parts),
            np.array(self.order, dtype=np.intp),
            self.blocks,
            self.work.snapshots,
            runs,
            self.scratch,
        )
