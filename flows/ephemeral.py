"""Prefect's ephemeral API server, tied to the process that starts it.

With no ``PREFECT_API_URL``, Prefect runs its API as a child process (uvicorn) and stops
it at exit, which a ``kill -9`` of the parent skips: the child would live on. Here the
child is started with ``PR_SET_PDEATHSIG`` (Linux), so the kernel sends it SIGTERM when
its parent dies however it dies. The signal follows the thread that started the child,
so :func:`start` starts the server from the calling (main) thread before any flow runs.
"""

from __future__ import annotations

import ctypes
import functools
import signal
import subprocess
import sys
import types

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start() -> None:
    """Start the ephemeral server now, as a child that dies with this process (no-op
    when a Prefect server is configured, or off Linux)."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return
    from prefect.server.api import server  # about 4 s: only when it is needed

    # The server module spawns uvicorn with ``subprocess.Popen``; give that module alone
    # a Popen that sets the death signal in the child.
    tied = types.ModuleType("subprocess")
    tied.__dict__.update(vars(subprocess))
    tied.Popen = functools.partial(subprocess.Popen, preexec_fn=_die_with_parent)  # type: ignore[attr-defined]
    server.subprocess = tied  # type: ignore[attr-defined]
    server.SubprocessASGIServer().start()
