"""The member lifecycle after an import: invitations, single-use links, leaver close-down."""
