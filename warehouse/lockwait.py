"""How long a writer waits for the warehouse file (apart from the connection code, so
the settings can set it without importing DuckDB)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass


def _tell(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class LockWait:
    """How long a writer waits for other processes to let go of the file, and how it
    reports the wait meanwhile (a line every ``every`` seconds)."""

    seconds: float = 60.0
    every: float = 5.0
    notify: Callable[[str], None] = _tell


WRITER_WAIT = LockWait()
"""The writers' policy (flows.settings sets ``seconds`` from ``ALVH_LOCK_WAIT``)."""
