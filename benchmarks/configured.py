"""Imported by every benchmark before anything that imports Prefect: the settings the
command line applies where it starts (:func:`flows.settings.configure`)."""

from flows import settings

settings.configure()
