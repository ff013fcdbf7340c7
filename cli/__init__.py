"""The ``alvh`` command line: arguments, progress and printed summaries over the flows.

It lives beside ``flows/`` and only calls it; no flow imports it (an import contract).
"""
