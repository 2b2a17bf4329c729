"""``hrsync demo`` (what ``make run`` starts): the whole product on one machine, on demo data.

It starts, in this one process: the intelliHR simulator (``--people`` people on port 8400), the
BambooHR simulator beside it (as many people, on the next port), a
local mail catcher on port 1025 whose messages the portal's "Sent e-mails" page lists, and the
portal with its embedded scheduler and import worker on SQLite in ``var/``. It creates the demo
programme and its administrator once, then prints where and how to sign in and what to type in
the setup wizard. Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import os

import click

from hrsync.cli.main import cli

DEMO_PROGRAMME = "Demo Rewards"
DEMO_ADMIN = "admin@demo.example.com"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - a loopback-only demo; printed on purpose
DEMO_TENANT = "demo"
DEMO_KEY = "sim-demo-key"


def _ensure_demo_programme() -> bool:
    """Create the demo programme and administrator unless they exist; True if created."""
    from hrsync.cli.common import ensure_schema
    from hrsync.services.errors import NotFound
    from hrsync.services.programmes import create_programme, programme_by_name
    from hrsync.store.db import session_scope

    ensure_schema()
    with session_scope() as session:
        try:
            programme_by_name(session, DEMO_PROGRAMME)
            return False
        except NotFound:
            create_programme(session, DEMO_PROGRAMME, admin_email=DEMO_ADMIN, admin_name="Demo Administrator",
                             password=DEMO_PASSWORD, timezone="Europe/London")
            return True


@cli.command("demo")
@click.option("--port", default=8000, show_default=True, help="Portal port.")
@click.option("--people", default=500, show_default=True, help="People in the simulated intelliHR directory.")
@click.option("--simulator-port", default=8400, show_default=True,
              help="intelliHR simulator port; the BambooHR simulator takes the next one.")
@click.option("--smtp-port", default=1025, show_default=True)
def demo(port: int, people: int, simulator_port: int, smtp_port: int) -> None:
    """Run the embedded demo: simulator, mail catcher, portal, scheduler and worker."""
    from hrsync.config import get_settings, reset_settings_cache

    os.environ["HRSYNC_INTELLIHR_BASE_URL"] = f"http://127.0.0.1:{simulator_port}/v1"
    os.environ["HRSYNC_BAMBOOHR_BASE_URL"] = f"http://127.0.0.1:{simulator_port + 1}/api/gateway.php"
    os.environ["HRSYNC_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    os.environ["HRSYNC_DEMO"] = "1"
    os.environ.setdefault("HRSYNC_BASE_URL", f"http://127.0.0.1:{port}")
    reset_settings_cache()
    settings = get_settings()

    from hrsync.cli.serve import serve
    from hrsync.notify.catcher import MailCatcher
    from hrsync.simulator import Simulator
    from hrsync.simulator.bamboohr import BambooSimulator

    created = _ensure_demo_programme()
    simulator = Simulator(people=people, seed=1, tenant=DEMO_TENANT, api_key=DEMO_KEY, port=simulator_port).start()
    bamboo = BambooSimulator(people=people, seed=1, company=DEMO_TENANT, api_key=DEMO_KEY,
                             port=simulator_port + 1).start()
    catcher = MailCatcher("127.0.0.1", smtp_port, folder=settings.data_dir / "mail").start()
    click.echo(
        "\n".join(
            [
                "",
                "hrsync demo is starting",
                f"  Portal          http://127.0.0.1:{port}/",
                f"  Sign in as      {DEMO_ADMIN} / {DEMO_PASSWORD}"
                + ("" if created else "  (existing demo programme in var/)"),
                f"  intelliHR       simulator with {people} people at {simulator.base_url}",
                f"  In the wizard   subdomain: {DEMO_TENANT}   API key: {DEMO_KEY}",
                f"  BambooHR        simulator with {people} people at {bamboo.base_url}",
                f"  In the wizard   company domain: {DEMO_TENANT}   API key: {DEMO_KEY}",
                f"  E-mails         caught on smtp://127.0.0.1:{smtp_port}; see 'Sent e-mails' in the portal",
                "  Stop with Ctrl-C.",
                "",
            ]
        )
    )
    try:
        serve.callback(host="127.0.0.1", port=port, no_scheduler=False)  # type: ignore[misc]
    finally:
        catcher.stop()
        bamboo.stop()
        simulator.stop()
