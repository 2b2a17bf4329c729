"""hrsync: imports people from HR systems and files (each a kind of source) into a rewards programme's members."""

__version__ = "0.1.0"
