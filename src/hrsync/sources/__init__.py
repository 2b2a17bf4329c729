"""Adapters to HR systems, each behind the small protocol in :mod:`hrsync.sources.base`."""
