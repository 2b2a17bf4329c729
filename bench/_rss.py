"""Run a command and report its wall time and the peak RSS of that one child, as JSON.

    python -m bench._rss COMMAND ARGS...

The timer starts before the child is spawned, so process start-up is included.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    start = time.perf_counter()
    proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "returncode": proc.returncode,
                      "stdout": proc.stdout, "stderr": proc.stderr[-2000:]}))


if __name__ == "__main__":
    main()
