"""Use-cases shared by the CLI, the portal, the JSON API and the job runners.

Every rule that more than one interface needs lives here once: creating a programme, checking
and storing a source's key, publishing and revoking an integration, finding a programme's
objects (always scoped by programme, so another tenant's object is simply "not found").
"""
