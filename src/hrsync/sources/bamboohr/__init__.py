"""BambooHR as a kind of source: its company domain and API key, a custom report of every employee,
field discovery from ``/meta/fields`` and one employee looked up live (see docs/bamboohr.md)."""
