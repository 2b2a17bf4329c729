"""Fixtures for the notify tests live in :mod:`helpers` (shared with the lifecycle tests)."""

from .helpers import _no_smtp_from_environment, db_url, factory, mail, make_member, seed

__all__ = ["_no_smtp_from_environment", "db_url", "factory", "mail", "make_member", "seed"]
