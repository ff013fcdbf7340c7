"""Orchestration: Prefect flows, sources and the ``alvh`` command line.

Importing the package applies the Prefect settings the project needs (no analytics,
a longer ephemeral-server start-up timeout, quiet logging) before prefect is imported.
"""

from flows import settings as _settings  # noqa: F401  (sets the environment first)
