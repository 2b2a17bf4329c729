"""hrsync: imports an HR directory (first: intelliHR) into a rewards programme's members."""

__version__ = "0.1.0"
