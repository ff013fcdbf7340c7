"""Orchestration: Prefect flows, sources and the ``alvh`` command line.

Importing a module changes no setting: a process calls :func:`flows.settings.configure`
where it starts (before Prefect is imported), as the command line does.
"""
