"""The SCIM door as a kind of source: a push door (nothing is read; clients write through /scim/v2)."""
