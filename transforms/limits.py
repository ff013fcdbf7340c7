"""Bounds on one input file, so a huge or hostile file is refused in one line before it
can exhaust memory (``flows.settings`` sets them from the environment). Free of heavy
imports: every command reads it at start-up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputLimits:
    max_bytes: int = 256 * 2**20
    """Bytes of one input as stored and, when compressed, as decompressed."""


INPUT_LIMITS = InputLimits()
LIMIT_SETTING = "ALVH_MAX_INPUT_MB"
