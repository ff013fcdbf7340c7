"""Prefect's ephemeral API server, started early and tied to the process that starts it.

With no ``PREFECT_API_URL``, Prefect runs its API as a child process (uvicorn, the whole
server imported and its SQLite migrated: about 6 s) and polls it every 0.1 s. A command
does not need to wait for that before it has parsed its arguments, imported its modules
and read its inputs, so :func:`launch` starts the same child at once, before Prefect is
imported, and points this process (and its children) at it through ``PREFECT_API_URL``;
:func:`start` waits for it, polling finely, just before the first flow runs. A server
named by ``PREFECT_API_URL`` is reused as it is, at no cost.

A ``kill -9`` of the parent skips its exit handlers, so the child is started with
``PR_SET_PDEATHSIG`` (Linux): the kernel sends it SIGTERM when its parent dies however
it dies. The signal follows the thread that started the child, so both functions must be
called from the main thread.
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1
POLL = 0.02  # seconds between readiness checks of a launched server
GRACEFUL_SHUTDOWN = 5  # seconds a stopping server may take to close its connections
_launched: list[tuple[subprocess.Popen[bytes], str, IO[bytes]]] = []


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch() -> None:
    """Start Prefect's API server as a child that dies with this process, without
    waiting for it, and make it this process's API. A no-op when a server is configured,
    when Prefect is already imported (its settings are read then: :func:`start` falls
    back to Prefect's own start), or off Linux."""
    if _launched or os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return
    spec = importlib.util.find_spec("prefect")
    if not sys.platform.startswith("linux") or spec is None or spec.origin is None:
        return
    port = _free_port()
    # The server's own log goes to an unnamed file, read back only if it fails to start: a
    # command that ends before the server is up (an argument error) stops it mid-start,
    # and its shutdown traceback must not reach the user's terminal.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (open for the server's life; closed by _stop)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(spec.origin).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
            "--timeout-graceful-shutdown",
            str(GRACEFUL_SHUTDOWN),
        ],
        env={
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        },
        stdin=subprocess.DEVNULL,
        stdout=log,  # nothing of this process: a pipe it writes to closes when it ends
        stderr=log,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 (before Prefect starts any thread)
    )
    api = f"http://127.0.0.1:{port}/api"
    _launched.append((child, api, log))
    os.environ["PREFECT_API_URL"] = api
    atexit.register(_stop, child, log)  # registered before Prefect's: runs after its flushes


def _stop(child: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Ask the server to stop (SIGTERM), and do not wait for it: its graceful shutdown
    (Prefect's services storing what they still hold, 0.1-0.3 s) goes on after this
    process has ended, bounded by uvicorn's graceful-shutdown timeout, so the command
    does not wait on it."""
    child.terminate()
    log.close()


def _last_error(log: IO[bytes]) -> str:
    """The last line the server wrote (its error, when it failed to start)."""
    log.seek(0)
    lines = log.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


def start() -> None:
    """Make sure Prefect's API answers before a flow runs: wait for the server
    :func:`launch` started, or start Prefect's own ephemeral server now as a child that
    dies with this process (no-op when a Prefect server is configured, or off Linux)."""
    if _launched:
        _wait(*_launched[0])
        return
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or not sys.platform.startswith("linux"):
        return
    from prefect.server.api import server  # about 3 s: only when it is needed

    # The server module spawns uvicorn with ``subprocess.Popen``; give that module alone
    # a Popen that sets the death signal in the child.
    tied = types.ModuleType("subprocess")
    tied.__dict__.update(vars(subprocess))
    tied.Popen = functools.partial(subprocess.Popen, preexec_fn=_die_with_parent)  # type: ignore[attr-defined]
    server.subprocess = tied  # type: ignore[attr-defined]
    server.SubprocessASGIServer().start()


def _wait(child: subprocess.Popen[bytes], api: str, log: IO[bytes]) -> None:
    from flows import settings

    deadline = time.monotonic() + settings.server_start_timeout()
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if child.poll() is not None:
            raise RuntimeError(
                f"Prefect's API server (started on {api}) exited with code "
                f"{child.returncode} before it answered: {_last_error(log)}"
            )
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Prefect's API server (started on {api}) did not answer within "
                f"{settings.server_start_timeout():g} s "
                "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS)"
            )
        time.sleep(POLL)
