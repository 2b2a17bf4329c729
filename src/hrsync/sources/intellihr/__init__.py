"""The intelliHR Public API v1 source.

``IntelliHRSource`` implements :class:`hrsync.sources.base.Source`; ``validate_subdomain`` checks a
tenant subdomain the way the authorize modal needs it.
"""

from hrsync.sources.intellihr.source import IntelliHRSource
from hrsync.sources.intellihr.subdomain import validate_subdomain

__all__ = ["IntelliHRSource", "validate_subdomain"]
