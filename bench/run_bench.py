"""The import benchmark: hrsync against floors measured in the same run.

    .venv/bin/python -m bench.run_bench [--people 100000] [--skip-e2e] [--database sqlite|postgresql]
                                        [--json results.json]
    .venv/bin/python -m bench.run_bench --growth 10000,20000,50000 [--plot bench/growth.png] [--database ...]

A simulated intelliHR directory of N people is served over loopback by a simulator in this
process (the importer runs in child processes, so they do not share an interpreter). Measured:

* fetch floor: merely paging through ``/people`` with limit=100, with the connector's HTTP client
  (httpx), concurrency (4) and decoder (msgspec, keeping only the keys the integration's mapping
  reads; see docs/decisions/0021);
* write floor: inserting N member rows in bulk, in one transaction, into a fresh store on the
  database benchmarked (``--database``: SQLite files, or PostgreSQL on 127.0.0.1:5432 as user
  ``postgres``, where every store is a fresh database ``hrsync_bench_<run>_<store>``, dropped at the end);
* (a) first import into an empty store, (b) a second import with no changes, (c) an import
  with 5 % of people changed, 1 % leavers and 1 % new people;

each import both in-process (the runner called from Python) and end to end (``hrsync import``
as a command, process start included). Ratios are to the floors of the same run; targets:
(a) ≤ 1.4 × (fetch + write floor), (b) ≤ 1.15 × and (c) ≤ 1.25 × fetch floor, peak RSS ≤ 250 MB
at 100,000 people and ≤ 1 GB at 1,000,000 (issue 13).

``--growth`` runs the floors and the in-process cases at each size given, prints a table of them and
draws seconds and peak RSS against people into a PNG (``--plot``; needs the ``bench`` extra, matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hrsync.simulator import Simulator

TENANT = "bench"
KEY = "bench-key-0000"
CONCURRENCY = 4
HRSYNC = str(Path(sys.executable).with_name("hrsync"))
DATABASES = ("sqlite", "postgresql")
POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"  # trust auth, as for the test suite
DEFAULT_PLOT = Path(__file__).with_name("growth.png")
CASES = ("a", "b", "c")


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


@contextmanager
def _stores(database: str, workdir: Path, server: str = POSTGRES_SERVER) -> Iterator[Any]:
    """Hands out the URL of a fresh, empty store by name: a SQLite file in ``workdir``, or a new
    PostgreSQL database ``hrsync_bench_<run>_<name>``; every database made is dropped on the way out."""
    if database == "sqlite":
        yield lambda name: f"sqlite:///{workdir / name}.db"
        return
    import psycopg

    run = uuid.uuid4().hex[:10]
    made: list[str] = []

    def admin(sql: str) -> None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def fresh(name: str) -> str:
        db = f"hrsync_bench_{run}_{name.replace('-', '_')}"
        admin(f'CREATE DATABASE "{db}"')
        made.append(db)
        return f"{server}/{db}"

    try:
        yield fresh
    finally:
        for db in made:
            admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _env(data_dir: Path, sim: Simulator, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
    env.update(HRSYNC_DATA_DIR=str(data_dir), HRSYNC_DATABASE_URL=database_url,
               HRSYNC_INTELLIHR_BASE_URL=sim.base_url, HRSYNC_IMPORT_TIME_BUDGET="300")
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


def _one_mode(people: int, mode: str, workdir: Path, seed: int, database_url: str) -> dict[str, Any]:
    """Cases (a), (b), (c) on a fresh store and a fresh directory, through one interface."""
    with Simulator(people=people, seed=seed, tenant=TENANT, api_key=KEY, port=0) as sim:
        env = _env(workdir / mode, sim, database_url)
        subprocess.run([HRSYNC, "db", "upgrade"], env=env, check=True, capture_output=True)  # PostgreSQL needs it
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


def measure(people: int, *, e2e: bool = True, seed: int = 42, database: str = "sqlite",
            postgres_server: str = POSTGRES_SERVER) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hrsync-bench-") as tmp, \
            _stores(database, Path(tmp), postgres_server) as fresh_store:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        write = _child(["write-floor", fresh_store("floor"), str(people)], env)
        report: dict[str, Any] = {"people": people, "database": database, "write_floor": write, "modes": {}}
        for mode in ("in-process", "end-to-end") if e2e else ("in-process",):
            report["modes"][mode] = _one_mode(people, mode, workdir, seed, fresh_store(mode))
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
        f"### {report['people']:,} people, {_database_name(report['database'])}",
        "",
        f"Write floor {w['seconds']:.2f} s ({w['rows']:,} rows, peak {w['peak_mb']:.0f} MB).",
        "",
        "| case | mode | seconds | fetch floor s | ratio | target | CPU µs/person | peak RSS MB | outcome |",
        "|---|---|---:|---:|---:|---|---:|---:|---|",
    ]
    targets = {"a": "≤ 1.4 × (fetch + write)", "b": "≤ 1.15 × fetch", "c": "≤ 1.25 × fetch"}
    for mode, cases in report["modes"].items():
        f = cases["fetch_floor"]["seconds"]
        for case in ("a", "b", "c"):
            r = cases[case]
            o = r["outcome"]
            summary = (f"{o['status']}: {o['created']} created, {o['updated']} updated, "
                       f"{o['unchanged']} unchanged, {o['leavers']} leavers, {o['pending']} pending, "
                       f"{o['errors']} errors, {o['warnings']} warnings")
            cpu = f"{r['cpu_seconds'] / report['people'] * 1e6:.0f}" if "cpu_seconds" in r else ""
            lines.append(f"| {case} | {mode} | {r['seconds']:.2f} | {f:.2f} | {r['ratio']:.2f} | "
                         f"{targets[case]} | {cpu} | {r['peak_mb']:.0f} | {summary} |")
    return "\n".join(lines)


def _database_name(database: str) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[database]


def growth_markdown(reports: list[dict[str, Any]]) -> str:
    """One row per size: the floors, each in-process case's seconds (ratio) and the highest peak RSS."""
    lines = [
        f"### Growth, in process, {_database_name(reports[0]['database'])}",
        "",
        "| people | fetch floor s | write floor s | (a) s (ratio) | (b) s (ratio) | (c) s (ratio) "
        "| peak RSS MB (a / b / c) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        cases = report["modes"]["in-process"]
        figures = " | ".join(f"{cases[c]['seconds']:.2f} ({cases[c]['ratio']:.2f})" for c in CASES)
        peaks = " / ".join(f"{cases[c]['peak_mb']:.0f}" for c in CASES)
        lines.append(f"| {report['people']:,} | {cases['fetch_floor']['seconds']:.2f} | "
                     f"{report['write_floor']['seconds']:.2f} | {figures} | {peaks} |")
    return "\n".join(lines)


def plot_growth(reports: list[dict[str, Any]], path: Path) -> None:
    """Seconds (cases a, b, c and the fetch floor) and peak RSS against people, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    people = [r["people"] for r in reports]
    runs = [r["modes"]["in-process"] for r in reports]
    labels = {"a": "(a) first import", "b": "(b) unchanged", "c": "(c) 5 % changed, 1 % leavers, 1 % new"}
    fig, (time_ax, rss_ax) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for case in CASES:
        time_ax.plot(people, [run[case]["seconds"] for run in runs], marker="o", label=labels[case])
        rss_ax.plot(people, [run[case]["peak_mb"] for run in runs], marker="o", label=labels[case])
    time_ax.plot(people, [run["fetch_floor"]["seconds"] for run in runs], marker="s", linestyle="--",
                 color="grey", label="fetch floor")
    # Log-log where the sizes span a decade or more (linear growth is then a straight line of slope 1).
    wide = max(people) >= 10 * min(people)
    plain = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if v >= 1 else f"{v:g}")
    for ax in (time_ax, rss_ax):
        if wide:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 1, 2, 5, 10, 20, 50...
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(NullFormatter())
        else:
            ax.set_ylim(bottom=0)
        ax.set_xticks(people)
        ax.xaxis.set_major_formatter(plain)
        ax.tick_params(axis="x", labelrotation=30)
        ax.set_xlabel("people")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    time_ax.set_ylabel("seconds" + (" (log scale)" if wide else ""))
    time_ax.set_title("Import time, in process")
    rss_ax.set_ylabel("peak RSS (MB)" + (" (log scale)" if wide else ""))
    rss_ax.set_title("Peak memory of the importing process")
    fig.suptitle(f"hrsync import growth on {_database_name(reports[0]['database'])}")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r} (e.g. 10000,20000,50000)") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive whole numbers: {text!r}")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--skip-e2e", action="store_true", help="Only the in-process imports.")
    parser.add_argument("--database", choices=DATABASES, default="sqlite",
                        help="The store benchmarked, floors included (default: sqlite).")
    parser.add_argument("--postgres-server", default=POSTGRES_SERVER, metavar="URL",
                        help=f"PostgreSQL server for --database postgresql (default: {POSTGRES_SERVER}).")
    parser.add_argument("--growth", type=_sizes, metavar="N,N,...",
                        help="Instead of --people: the floors and in-process cases at each size, a table and a plot.")
    parser.add_argument("--plot", type=Path, help=f"Where --growth draws its PNG (default: {DEFAULT_PLOT}).")
    parser.add_argument("--json", type=Path, help="Also write the raw figures here.")
    args = parser.parse_args()
    if args.plot and not args.growth:
        parser.error("--plot goes with --growth")
    if args.growth:
        reports = [measure(n, e2e=False, database=args.database, postgres_server=args.postgres_server)
                   for n in args.growth]
        if args.json:
            args.json.write_text(json.dumps({"growth": reports}, indent=2))
        plot = args.plot or DEFAULT_PLOT
        plot_growth(reports, plot)
        print(growth_markdown(reports))
        print(f"\nPlot: {plot}")
        return
    report = measure(args.people, e2e=not args.skip_e2e, database=args.database,
                     postgres_server=args.postgres_server)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(to_markdown(report))


if __name__ == "__main__":
    main()
