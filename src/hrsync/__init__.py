"""hrsync: imports people from HR systems and files (each a kind of source) into a rewards programme's members."""

import sys

__version__ = "0.1.0"

# httpx imports its own command-line client (``httpx._main``, which loads rich and pygments: about 6 MB of
# every worker) whenever click and rich are installed, as they are here, and falls back quietly when that
# import fails. hrsync never runs httpx's command line, so the entry below makes the import fail (a ``None``
# in ``sys.modules`` refuses an import) before anything imports httpx. Issue 27: a worker under 250 MB.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
