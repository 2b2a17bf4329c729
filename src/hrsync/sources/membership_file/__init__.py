"""The membership-file source: CSV files uploaded in the portal or dropped in a folder over SFTP.

* :class:`MembershipFileSource` implements :class:`hrsync.sources.base.Source` over a drop folder;
* :func:`match_columns` suggests which header feeds which member field (for the CLI and the portal);
* :func:`drop_upload` writes an uploaded file into an integration's folder, atomically;
* :func:`folder_of` is an integration's drop folder.
"""

from hrsync.sources.membership_file.columns import find_status_column, match_columns, normalise_header
from hrsync.sources.membership_file.folder import drop_upload, folder_of, newest_file
from hrsync.sources.membership_file.source import MembershipFileSource

__all__ = [
    "MembershipFileSource",
    "drop_upload",
    "find_status_column",
    "folder_of",
    "match_columns",
    "newest_file",
    "normalise_header",
]
