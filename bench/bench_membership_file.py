"""The membership-file benchmark: importing a CSV file against merely parsing it.

    .venv/bin/python -m bench.bench_membership_file [--rows 100000] [--skip-import] [--json results.json]

A file of N people (UTF-8 with a BOM, semicolons, a quoted cell with a line break every 100 rows,
a status and a DD/MM/YYYY date column) is written to a temporary drop folder. Measured:

* parse floor: ``csv.reader`` over the file, every row read, nothing else;
* source read: :class:`hrsync.sources.membership_file.MembershipFileSource` ``people()`` over the
  whole file (mapping-relevant columns, dates normalised, statuses looked up), in this process;
* import: ``hrsync import`` as a user runs it (process start included) on a fresh SQLite store,
  the first import of the file (every person created and invited).

Ratios are to the parse floor of the same run; peak RSS of the import process is reported.

Measured on the 2-CPU development machine (100,000 rows, 8.4 MB): parse floor 0.20 s, source read
2.17 s (ratio 11: per row, trimming, date and status reading and a ``SourcePerson``), first import
42.8 s end to end (ratio 216 to the parse floor; the read is 5 % of it, the rest is planning and
writing 100,000 members and their invitations), peak RSS 295 MB; the file ended in ``processed/``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HRSYNC = str(Path(sys.executable).with_name("hrsync"))
HEADER = ["Employee Number", "Work E-mail", "Given name", "Surname", "Employment Status", "Date of birth",
          "Department"]


def write_file(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            department = "Sales;\nNorth" if i % 100 == 0 else f"Dept {i % 40}"
            writer.writerow([f"E{i:07d}", f"person{i}@bench.example.com", "Alex", f"Person-{i % 997}",
                             "Current Staff", f"{1 + i % 28:02d}/{1 + i % 12:02d}/19{50 + i % 50}", department])
    settled = time.time() - 3600
    os.utime(path, (settled, settled))


def _best(runs: int, fn: Any) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def parse_floor(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _row in csv.reader(fh, delimiter=";")) - 1


def source_read(folder: Path) -> int:
    from hrsync.sources.membership_file import MembershipFileSource

    mapping = {"employee_id": "Employee Number", "email": "Work E-mail", "first_name": "Given name",
               "last_name": "Surname", "date_of_birth": "Date of birth", "department": "Department"}
    with MembershipFileSource(folder, required={"Employee ID": "Employee Number"}, key_column="Employee Number",
                              date_columns={"Date of birth"}, settle_seconds=0) as source:
        return sum(1 for _p in source.people(fields=set(mapping.values())))


def _cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench._rss", HRSYNC, *args, "--json"], env=env,
                          capture_output=True, text=True, check=True)
    measured = json.loads(proc.stdout)
    if measured["returncode"] not in (0, 1):
        raise RuntimeError(f"hrsync {' '.join(args)} failed: {measured['stderr']}")
    return {"seconds": measured["seconds"], "outcome": json.loads(measured["stdout"]), "peak_mb": measured["peak_mb"]}


def full_import(folder: Path, data_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
    env.update(HRSYNC_DATA_DIR=str(data_dir), HRSYNC_FILE_MAX_BYTES=str(200 * 1024 * 1024))
    subprocess.run([HRSYNC, "programme", "add", "Bench", "--admin-email", "owner@bench.test"], env=env,
                   check=True, capture_output=True)
    created = subprocess.run([HRSYNC, "integration", "add", "--programme", "Bench", "--source", "file", "--path",
                              str(folder), "--json"], env=env, check=True, capture_output=True, text=True)
    integration = str(json.loads(created.stdout)["id"])
    subprocess.run([HRSYNC, "integration", "publish", integration], env=env, check=True, capture_output=True)
    return _cli(["import", integration], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="best of this many in-process timings")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--json", dest="json_path", default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {"rows": args.rows}
    with tempfile.TemporaryDirectory(prefix="hrsync-file-bench-") as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        path = folder / "members.csv"
        write_file(path, args.rows)
        results["file_mb"] = round(path.stat().st_size / 1024 / 1024, 1)
        assert parse_floor(path) == source_read(folder) == args.rows
        results["parse_floor_s"] = round(_best(args.runs, lambda: parse_floor(path)), 3)
        results["source_read_s"] = round(_best(args.runs, lambda: source_read(folder)), 3)
        results["source_read_ratio"] = round(results["source_read_s"] / results["parse_floor_s"], 2)
        if not args.skip_import:
            imported = full_import(folder, Path(tmp) / "data")
            outcome = imported["outcome"]
            assert outcome["created"] == args.rows, outcome
            results["import_s"] = round(imported["seconds"], 2)
            results["import_ratio"] = round(imported["seconds"] / results["parse_floor_s"], 1)
            results["import_peak_mb"] = imported["peak_mb"]
            results["file_moved_to_processed"] = not path.exists()
    print(json.dumps(results, indent=2))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
