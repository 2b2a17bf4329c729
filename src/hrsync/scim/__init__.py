"""Inbound SCIM 2.0 (RFC 7643 / 7644): Entra ID, Okta and any SCIM client provision members directly.

``routes`` is the HTTP face at ``/scim/v2`` (mounted by the portal), ``resources`` turns members into
SCIM Users and SCIM Users into member values, ``filters`` and ``patch`` read what clients send, and
``discovery`` is what the server says of itself. Every write goes through
:mod:`hrsync.services.scim_members`. See docs/scim.md.
"""
