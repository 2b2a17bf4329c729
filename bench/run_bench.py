"""The import benchmark: hrsync against floors measured in the same run.

    .venv/bin/python -m bench.run_bench [--people 100000] [--skip-e2e] [--json results.json]

A simulated intelliHR directory of N people is served over loopback by a simulator in this
process (the importer runs in child processes, so they do not share an interpreter). Measured:

* fetch floor: merely paging through ``/people`` with limit=100, with the connector's HTTP client
  (httpx), concurrency (4) and decoder (msgspec, keeping only the keys the integration's mapping
  reads; see docs/decisions/0021);
* write floor: inserting N member rows in bulk, in one transaction, into a fresh SQLite store;
* (a) first import into an empty store, (b) a second import with no changes, (c) an import
  with 5 % of people changed, 1 % leavers and 1 % new people;

each import both in-process (the runner called from Python) and end to end (``hrsync import``
as a command, process start included). Ratios are to the floors of the same run; targets:
(a) ≤ 1.5 × (fetch + write floor), (b) and (c) ≤ 1.3 × fetch floor, peak RSS ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hrsync.simulator import Simulator

TENANT = "bench"
KEY = "bench-key-0000"
CONCURRENCY = 4
HRSYNC = str(Path(sys.executable).with_name("hrsync"))


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "bench._child", *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench step {args[0]} failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """``hrsync ARGS --json`` as a user runs it, timed from before the process starts."""
    proc = subprocess.run([sys.executable, "-m", "bench._rss", HRSYNC, *args, "--json"], env=env,
                          capture_output=True, text=True, check=True)
    measured = json.loads(proc.stdout)
    if measured["returncode"] not in (0, 1):
        raise RuntimeError(f"hrsync {' '.join(args)} failed: {measured['stderr']}")
    return {"seconds": measured["seconds"], "outcome": json.loads(measured["stdout"]), "peak_mb": measured["peak_mb"]}


def _env(data_dir: Path, sim: Simulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
    env.update(HRSYNC_DATA_DIR=str(data_dir), HRSYNC_INTELLIHR_BASE_URL=sim.base_url,
               HRSYNC_IMPORT_TIME_BUDGET="300")
    return env


def _change_directory(sim: Simulator, seed: int) -> dict[str, int]:
    """5 % changed, 1 % leavers, 1 % new people (among the active, valid people)."""
    d = sim.directory
    bad = {i for ids in d.bad_records.values() for i in ids}
    active = [p["id"] for p in d.people()
              if p["employmentStatus"] in ("Current Staff", "Exiting Staff") and p["id"] not in bad]
    total = d.total
    rng = random.Random(seed)
    rng.shuffle(active)
    n_change, n_leave, n_new = total * 5 // 100, total // 100, total // 100
    for person_id in active[:n_change]:
        d.change(person_id, lastName="Changed-" + "".join(rng.choice("abcdefghij") for _ in range(8)))
    for person_id in active[n_change:n_change + n_leave]:
        d.terminate(person_id)
    for i in range(n_new):
        d.hire(first_name="New", last_name="Starter-" + "".join(rng.choice("klmnopqrst") for _ in range(6)),
               email=f"new.starter.{i}@bench.example.com", employee_number=f"NEW{i:07d}")
    return {"changed": n_change, "leavers": n_leave, "new": n_new}


def _one_mode(people: int, mode: str, workdir: Path, seed: int) -> dict[str, Any]:
    """Cases (a), (b), (c) on a fresh store and a fresh directory, through one interface."""
    with Simulator(people=people, seed=seed, tenant=TENANT, api_key=KEY, port=0) as sim:
        env = _env(workdir / mode, sim)
        subprocess.run([HRSYNC, "programme", "add", "Bench", "--admin-email", "admin@bench.example.com"],
                       env=env, check=True, capture_output=True)
        created = subprocess.run([HRSYNC, "integration", "add", "--programme", "Bench", "--subdomain", TENANT,
                                  "--api-key", "-", "--json"], env=env, input=KEY + "\n", check=True,
                                 capture_output=True, text=True)
        integration = json.loads(created.stdout)["id"]
        subprocess.run([HRSYNC, "integration", "publish", str(integration)], env=env, check=True,
                       capture_output=True)
        shown = subprocess.run([HRSYNC, "integration", "show", str(integration), "--json"], env=env, check=True,
                               capture_output=True, text=True)
        fields = json.dumps(sorted(set(json.loads(shown.stdout)["mapping"].values())))

        # The floor is measured on this very simulator, after a first pass has warmed its cache:
        # the imports below then read from the same warm server.
        fetch = min((_child(["fetch-floor", sim.base_url, TENANT, KEY, str(CONCURRENCY), fields], env)
                     for _ in range(2)),
                    key=lambda r: r["seconds"])

        def run() -> dict[str, Any]:
            if mode == "in-process":
                return _child(["import", str(integration)], env)
            return _cli(["import", str(integration)], env)

        results: dict[str, Any] = {"fetch_floor": fetch, "a": run(), "b": run()}
        results["changes"] = _change_directory(sim, seed)
        results["c"] = run()
        return results


def measure(people: int, *, e2e: bool = True, seed: int = 42) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hrsync-bench-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        write = _child(["write-floor", f"sqlite:///{workdir / 'floor.db'}", str(people)], env)
        report: dict[str, Any] = {"people": people, "write_floor": write, "modes": {}}
        for mode in ("in-process", "end-to-end") if e2e else ("in-process",):
            report["modes"][mode] = _one_mode(people, mode, workdir, seed)
    w = write["seconds"]
    for cases in report["modes"].values():
        f = cases["fetch_floor"]["seconds"]
        cases["a"]["ratio"] = cases["a"]["seconds"] / (f + w)
        cases["b"]["ratio"] = cases["b"]["seconds"] / f
        cases["c"]["ratio"] = cases["c"]["seconds"] / f
    return report


def to_markdown(report: dict[str, Any]) -> str:
    w = report["write_floor"]
    lines = [
        f"### {report['people']:,} people",
        "",
        f"Write floor {w['seconds']:.2f} s ({w['rows']:,} rows, peak {w['peak_mb']:.0f} MB).",
        "",
        "| case | mode | seconds | fetch floor s | ratio | target | peak RSS MB | outcome |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    targets = {"a": "≤ 1.5 × (fetch + write)", "b": "≤ 1.3 × fetch", "c": "≤ 1.3 × fetch"}
    for mode, cases in report["modes"].items():
        f = cases["fetch_floor"]["seconds"]
        for case in ("a", "b", "c"):
            r = cases[case]
            o = r["outcome"]
            summary = (f"{o['status']}: {o['created']} created, {o['updated']} updated, "
                       f"{o['unchanged']} unchanged, {o['leavers']} leavers, {o['pending']} pending, "
                       f"{o['errors']} errors, {o['warnings']} warnings")
            lines.append(f"| {case} | {mode} | {r['seconds']:.2f} | {f:.2f} | {r['ratio']:.2f} | "
                         f"{targets[case]} | {r['peak_mb']:.0f} | {summary} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--skip-e2e", action="store_true", help="Only the in-process imports.")
    parser.add_argument("--json", type=Path, help="Also write the raw figures here.")
    args = parser.parse_args()
    report = measure(args.people, e2e=not args.skip_e2e)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(to_markdown(report))


if __name__ == "__main__":
    main()
