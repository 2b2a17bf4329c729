"""``hrsync simulator``: serve a simulated intelliHR (default) or BambooHR account until Ctrl-C."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from hrsync.cli.main import cli
from hrsync.simulator.directory import DEFAULT_CACHE_LIMIT

if TYPE_CHECKING:
    from hrsync.simulator.server import Served


@cli.command("simulator")
@click.option("--kind", type=click.Choice(["intellihr", "bamboohr"]), default="intellihr", show_default=True,
              help="Which HR system to simulate.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8400,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option("--people", default=200, show_default=True, type=click.IntRange(0), help="Directory size.")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same directory.")
@click.option("--tenant", default="demo", show_default=True,
              help="Account clients must name: intelliHR's subdomain, or BambooHR's company domain (in the path).")
@click.option("--api-key", default="sim-demo-key", show_default=True, help="API key clients must send.")
@click.option(
    "--cache",
    "cache_limit",
    default=DEFAULT_CACHE_LIMIT,
    show_default=True,
    type=click.IntRange(0),
    help="How many people's JSON to keep rendered (about 2.4 kB each); 0 renders every answer afresh.",
)
@click.option(
    "--employee-numbers/--no-employee-numbers",
    default=True,
    show_default=True,
    help="--no-employee-numbers: an intelliHR account whose configuration hides employee numbers (null for everyone).",
)
@click.option(
    "--future-types",
    is_flag=True,
    help="Also serve a custom field of a type the published spec does not know (RATING, an object value).",
)
def simulator(
    kind: str,
    host: str,
    port: int,
    people: int,
    seed: int,
    tenant: str,
    api_key: str,
    cache_limit: int,
    employee_numbers: bool,
    future_types: bool,
) -> None:
    """Serve an intelliHR Public API v1 or BambooHR API simulator (admin back door under /_sim)."""
    sim: Served
    if kind == "bamboohr":
        if future_types:
            raise click.UsageError("--future-types is for the intelliHR simulator")
        from hrsync.simulator.bamboohr import BambooSimulator

        sim = BambooSimulator(people=people, seed=seed, company=tenant, api_key=api_key, host=host, port=port,
                              employee_numbers=employee_numbers)
        account = f"BambooHR company domain: {tenant}"
    else:
        from hrsync.simulator import Simulator

        sim = Simulator(people=people, seed=seed, tenant=tenant, api_key=api_key, host=host, port=port,
                        cache_limit=cache_limit, employee_numbers=employee_numbers, future_types=future_types)
        account = f"intelliHR account: {tenant}"
    try:
        sim.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    name = "BambooHR" if kind == "bamboohr" else "intelliHR"
    # The key printed here is the simulator's own demo key, chosen on the command line.
    click.echo(f"{name} simulator serving {people} people at {sim.base_url}", err=False)
    click.echo(account)
    click.echo(f"api key: {api_key}")
    click.echo(f"admin: {sim.url}/_sim   (Ctrl-C to stop)", err=False)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        sim.stop()
