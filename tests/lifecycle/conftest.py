"""The lifecycle tests use the same real services and data helpers as the notify tests."""

from tests.notify.helpers import _no_smtp_from_environment, db_url, factory, mail, make_member, seed

__all__ = ["_no_smtp_from_environment", "db_url", "factory", "mail", "make_member", "seed"]
