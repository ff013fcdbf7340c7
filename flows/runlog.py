"""What a flow says: one line on the console for the person who ran the command, and the
same line in the flow run's log, so Prefect's UI and ``prefect flow-run logs`` show it.

Run logs reach the API at INFO (``prefect.flow_runs`` and ``prefect.task_runs``, set in
:mod:`flows.settings`), while Prefect's own chatter stays at ``PREFECT_LOGGING_LEVEL``;
the command line keeps those INFO records off its console (they are already printed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from prefect import get_run_logger
from prefect.exceptions import MissingContextError


def say(line: str) -> None:
    """Print ``line`` and log it to the current flow or task run (if there is one)."""
    print(line, flush=True)
    try:
        logger = get_run_logger()
    except MissingContextError:
        return
    logger.info(line)


@contextmanager
def after_commit(committed: Sequence[str], not_done: str) -> Iterator[None]:
    """A step of a run that has already committed ``committed`` (read when the step
    fails, so a list may grow meanwhile): an exception it raises carries a note saying
    what is stored and what is ``not_done``, which the command line prints under its
    one-line error."""
    try:
        yield
    except BaseException as exc:
        stored = ", ".join(committed) if committed else "nothing"
        exc.add_note(f"committed before this failure: {stored}; not done: {not_done}")
        raise
