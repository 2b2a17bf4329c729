"""A seeded kill harness: imports SIGKILLed at random moments must leave everything consistent.

Each *round* changes the simulated directory (hires, leavers, e-mail changes), snapshots every
member, starts an import (``hrsync import N`` or a Celery worker), waits until the run row reaches
a phase picked by a seeded RNG, waits a random delay more and SIGKILLs the importing process.
Then it checks, and recovers the way a deployment does (``hrsync scheduler --once --stale-after``):

* nothing half-applied: a run that did not commit left the members, their events and the outbox
  exactly as they were; a run that did commit is complete (an import right after it changes nothing);
* no run is left ``running`` or ``queued`` after recovery, and the retried import succeeds;
* every invited member has exactly one invitation queued, and after ``hrsync outbox send`` to a real
  SMTP server every invitation address received exactly one invitation.

Violations are collected (with the seed and kill number to reproduce them), not raised at once, so
a soak run still reports its tally; the calling test fails if there is any.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

from hrsync.notify.catcher import MailCatcher
from hrsync.simulator import Simulator

HRSYNC = str(Path(sys.executable).with_name("hrsync"))
TENANT = "acme"
API_KEY = "sim-key-for-tests-1234"

# Where a kill is aimed: "startup" is a plain delay after the process starts (it may not even have
# created its run yet); the others wait until the run row says so, then add a random delay.
TARGETS = ("startup", "fetching", "planning", "applying")
PHASE_ORDER = ("none", "queued", "fetching", "planning", "applying", "done")
# Upper bound of the extra delay after reaching a phase, in seconds for 20,000 people.
DELAY_AT_20K = {"startup": 1.5, "fetching": 1.6, "planning": 0.5, "applying": 1.2}
FINISHED_OK = {"succeeded", "succeeded_with_errors"}
NO_CHANGE = ("created", "updated", "leavers", "reinstated", "pending")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass
class Kill:
    label: str
    seed: int
    number: int
    target: str
    phase: str = "none"  # the run row's phase when the process died
    outcome: str = ""  # rolled-back | committed | finished-before-kill
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        verdict = "OK" if not self.problems else "VIOLATION: " + "; ".join(self.problems)
        return (f"kill {self.label} #{self.number} seed={self.seed} target={self.target} "
                f"phase_at_kill={self.phase} outcome={self.outcome} {verdict}")


@dataclass
class Tally:
    kills: list[Kill] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> str:
        phases = Counter(k.phase for k in self.kills)
        outcomes = Counter(k.outcome for k in self.kills)
        bad = [k for k in self.kills if k.problems]
        labels = Counter(k.label for k in self.kills)
        return (f"TALLY kills={len(self.kills)} per_db={dict(labels)} phases={dict(phases)} "
                f"outcomes={dict(outcomes)} violations={len(bad)} "
                f"wall={time.monotonic() - self.started:.0f}s")

    @property
    def violations(self) -> list[str]:
        return [k.line() for k in self.kills if k.problems]


@contextmanager
def activated(env: dict[str, str]) -> Iterator[None]:
    """Make ``env``'s HRSYNC_* settings this process's for a moment (cached settings and engines too)."""
    from hrsync.config import reset_settings_cache
    from hrsync.store.db import dispose_engines

    saved = {k: v for k, v in os.environ.items() if k.startswith("HRSYNC_")}

    def use(values: dict[str, str]) -> None:
        for key in [k for k in os.environ if k.startswith("HRSYNC_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in values.items() if k.startswith("HRSYNC_")})
        reset_settings_cache()
        dispose_engines()

    use(env)
    try:
        yield
    finally:
        use(saved)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 300.0, step: float = 0.05) -> None:
    """Poll until ``condition`` holds; the timeout only stops a hung run, it measures nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(step)


class Deployment:
    """An installation driven through the real CLI: its database, simulator and SMTP server."""

    def __init__(self, url: str, data_dir: Path, sim: Simulator, mail: MailCatcher, **extra_env: str) -> None:
        self.url = url
        self.sim = sim
        self.mail = mail
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HRSYNC_")}
        self.env.update(
            HRSYNC_DATA_DIR=str(data_dir),
            HRSYNC_DATABASE_URL=url,
            HRSYNC_INTELLIHR_BASE_URL=sim.base_url,
            HRSYNC_IMPORT_TIME_BUDGET="300",
            HRSYNC_BASE_URL="http://portal.test",
            **extra_env,
        )
        self.engine: Engine = create_engine(url)
        self.integration = 0

    # -- the CLI -------------------------------------------------------------------------------

    def cli(self, *args: str, stdin: str | None = None, smtp: bool = False) -> Any:
        env = dict(self.env)
        if smtp:
            env["HRSYNC_SMTP_URL"] = f"smtp://{self.mail.host}:{self.mail.port}"
        proc = subprocess.run([HRSYNC, *args, "--json"], env=env, input=stdin, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"hrsync {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        return json.loads(proc.stdout)

    def setup(self, *, welcome_email: bool, frequency: str = "manual") -> None:
        """Schema, programme and a published integration, through the services in this process
        (what ``hrsync programme add`` / ``integration add`` / ``publish`` call; a second each saved)."""
        from hrsync.services.integrations import create_integration, publish
        from hrsync.services.programmes import create_programme
        from hrsync.store.db import session_factory, upgrade

        with activated(self.env):
            upgrade()
            with session_factory().begin() as session:
                programme, admin = create_programme(session, "Acme", admin_email="owner@acme.test")
                integration = create_integration(
                    session, programme, admin, subdomain=TENANT, api_key=API_KEY, frequency=frequency,
                    schedule_time="03:00" if frequency != "manual" else None, welcome_email=welcome_email,
                )
                publish(session, integration, admin)
                self.integration = int(integration.id)

    def make_due(self) -> None:
        """The integration's scheduled time has come (what the clock would do by tomorrow 03:00)."""
        with self.engine.begin() as conn:
            conn.execute(text("UPDATE integration SET next_run_at = created_at WHERE id = :i"),
                         {"i": self.integration})

    # -- reading the database ------------------------------------------------------------------

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def last_run_id(self) -> int:
        return int(self.scalar("SELECT coalesce(max(id), 0) FROM import_run") or 0)

    def run_after(self, run_id: int) -> tuple[int, str, str] | None:
        """(id, status, phase) of the first run created after ``run_id``."""
        found = self.rows("SELECT id, status, phase FROM import_run WHERE id > :i ORDER BY id LIMIT 1", i=run_id)
        return (int(found[0][0]), str(found[0][1]), str(found[0][2])) if found else None

    def snapshot(self) -> tuple[list[tuple[Any, ...]], int, int]:
        """Every member (every column), and how many member events and e-mails exist."""
        members = self.rows("SELECT * FROM member ORDER BY id")
        return (members, int(self.scalar("SELECT count(*) FROM member_event")),
                int(self.scalar("SELECT count(*) FROM outbox_email")))

    def wait_for_dead_sessions(self) -> None:
        """PostgreSQL: wait until the killed importer's open transaction is gone (rolled back)."""
        if not self.url.startswith("postgresql"):
            return

        def gone() -> bool:
            return self.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL") == 0

        wait_for(gone, "PostgreSQL to end the killed importer's transaction", timeout=60)

    def active_runs(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT id, status, phase FROM import_run WHERE status IN ('queued', 'running')")

    # -- the directory -------------------------------------------------------------------------

    def change_directory(self, rng: random.Random, round_no: int, people: int) -> dict[str, int]:
        """A few hundred people per round at 20,000 (hires, leavers, e-mail changes)."""
        directory = self.sim.directory
        hires = len(directory.grow(max(2, people // 100)))
        leavers = changed = 0
        ids = directory.ids()
        for pid in rng.sample(ids, max(2, people // 200)):
            try:
                directory.terminate(pid)
                leavers += 1
            except ValueError:  # no job to end, already ended
                pass
        for n, pid in enumerate(rng.sample(ids, max(2, people // 100))):
            directory.change(pid, primaryEmailAddress=f"moved.{round_no}.{n}@mail.acme.test")
            changed += 1
        return {"hires": hires, "leavers": leavers, "email_changes": changed}

    # -- invariants ----------------------------------------------------------------------------

    def invitation_problems(self, *, send: bool = True) -> list[str]:
        """Every invited member has exactly one invitation row; after ``hrsync outbox send`` every
        invitation address received exactly one invitation, and nothing more was sent."""
        problems = []
        wrong = self.rows(
            "SELECT m.id, count(o.id) FROM member m LEFT JOIN outbox_email o "
            "ON o.member_id = m.id AND o.kind = 'invitation' WHERE m.status = 'invited' "
            "GROUP BY m.id HAVING count(o.id) <> 1")
        if wrong:
            problems.append(f"{len(wrong)} invited member(s) without exactly one invitation, e.g. {wrong[:3]}")
        doubled = self.rows("SELECT member_id, count(*) FROM outbox_email WHERE kind = 'invitation' "
                            "GROUP BY member_id HAVING count(*) > 1")
        if doubled:
            problems.append(f"{len(doubled)} member(s) with more than one invitation row, e.g. {doubled[:3]}")
        if not send:
            return problems
        report = self.cli("outbox", "send", "--limit", "10000000", smtp=True)
        if report.get("failed") or report.get("retrying"):
            problems.append(f"outbox send did not deliver everything: {report}")
        unsent = self.rows("SELECT m.id, o.status FROM member m JOIN outbox_email o ON o.member_id = m.id "
                           "AND o.kind = 'invitation' WHERE m.status = 'invited' AND o.status <> 'sent'")
        if unsent:
            problems.append(f"{len(unsent)} invited member(s) whose invitation was not sent, e.g. {unsent[:3]}")
        sent = self.rows("SELECT to_address, subject FROM outbox_email WHERE kind = 'invitation' AND status = 'sent'")
        subjects = {s for _, s in sent}
        expected = Counter(a.lower() for a, _ in sent)
        received = Counter(r.lower() for m in self.mail.messages if m.subject in subjects for r in m.recipients)
        if received != expected or any(n != 1 for n in received.values()):
            twice = [a for a, n in received.items() if n > 1][:3]
            missing = list((expected - received).elements())[:3]
            extra = list((received - expected).elements())[:3]
            problems.append(f"invitations received != invitations sent: twice {twice}, missing {missing}, "
                            f"unexpected {extra}")
        return problems

    def recover(self) -> dict[str, Any]:
        """What an operator (or the scheduler loop) runs: a pass that fails runs silent for 1 s,
        retries them and, without a broker, runs the retry in this process to its end."""
        report: dict[str, Any] = self.cli("scheduler", "--once", "--stale-after", "1", "--loglevel", "WARNING")
        return report

    def close(self) -> None:
        self.engine.dispose()


def plan_targets(rng: random.Random, count: int, first: str = "applying") -> list[str]:
    """Kill targets: every block of four covers each target once in a seeded random order, except
    that the very first kill aims at ``first`` (so a one-kill run still hits what matters most)."""
    targets: list[str] = [first]
    targets.extend(rng.sample([t for t in TARGETS if t != first], len(TARGETS) - 1))
    while len(targets) < count:
        targets.extend(rng.sample(TARGETS, len(TARGETS)))
    return targets[:count]


def _aim(dep: Deployment, rng: random.Random, target: str, before: int, people: int,
         alive: Callable[[], bool]) -> None:
    """Wait until the import reaches ``target`` (or ends), then a random delay more."""
    scale = max(people / 20_000, 0.1)
    if target != "startup":
        rank = PHASE_ORDER.index(target)

        def reached() -> bool:
            run = dep.run_after(before)
            if not alive():
                return True
            return run is not None and (PHASE_ORDER.index(run[2]) >= rank or run[1] not in ("queued", "running"))

        wait_for(reached, f"the import to reach {target}", step=0.01)
    time.sleep(rng.uniform(0.0, DELAY_AT_20K[target] * scale))


def _check_after_kill(dep: Deployment, kill: Kill, before: int,
                      snap: tuple[list[tuple[Any, ...]], int, int]) -> tuple[int, str] | None:
    """Nothing half-applied right after the kill. Returns the killed run (id, status) if any."""
    dep.wait_for_dead_sessions()
    run = dep.run_after(before)
    kill.phase = run[2] if run else "none"
    status = run[1] if run else "none"
    if status in ("none", "queued", "running"):
        kill.outcome = kill.outcome or "rolled-back"
        now = dep.snapshot()
        if now[0] != snap[0]:
            changed = len(set(now[0]) ^ set(snap[0]))
            kill.problems.append(f"members changed although run is {status} ({changed} differing rows)")
        if now[1:] != snap[1:]:
            kill.problems.append(f"events/outbox changed although run is {status}: {snap[1:]} -> {now[1:]}")
    elif status in FINISHED_OK:
        kill.outcome = kill.outcome or "committed"
        kill.phase = "done" if kill.outcome == "committed" else kill.phase
    else:
        kill.problems.append(f"killed run ended {status}")
    return (run[0], status) if run else None


def _check_after_recovery(dep: Deployment, kill: Kill, killed: tuple[int, str] | None) -> None:
    active = dep.active_runs()
    if active:
        kill.problems.append(f"runs still active after recovery: {active}")
        return
    if killed is None:
        return
    run_id, status = killed
    now = dict((int(i), str(s)) for i, s in dep.rows("SELECT id, status FROM import_run WHERE id >= :i", i=run_id))
    if status == "running":
        if now.get(run_id) != "failed":
            kill.problems.append(f"killed run {run_id} is {now.get(run_id)} after recovery, not failed")
        retries = {i: s for i, s in now.items() if i > run_id}
        if not retries or not set(retries.values()) <= FINISHED_OK:
            kill.problems.append(f"the retry of run {run_id} did not succeed: {retries}")
    elif status == "queued" and now.get(run_id) not in FINISHED_OK:
        kill.problems.append(f"queued run {run_id} is {now.get(run_id)} after recovery")


def _verify_complete(dep: Deployment, kill: Kill, expect_no_change: bool) -> None:
    """An uninterrupted import: it succeeds, and where this round's changes were already
    committed it changes nothing (so what was committed was the whole import)."""
    before = dep.snapshot()
    outcome = dep.cli("import", str(dep.integration))
    if outcome["status"] not in FINISHED_OK:
        kill.problems.append(f"the next import ended {outcome['status']}: {outcome.get('reason')}")
        return
    if expect_no_change:
        counts = {k: outcome[k] for k in NO_CHANGE if outcome[k]}
        if counts or dep.snapshot()[:2] != before[:2]:  # (its summary e-mail to the administrator aside)
            kill.problems.append(f"the import after a committed run still changed members: {counts}")


class CliDriver:
    """``hrsync import N`` in the foreground, SIGKILLed; recovery is one scheduler pass."""

    def __init__(self, dep: Deployment, log_dir: Path) -> None:
        self.dep = dep
        self.log = log_dir / "import.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def setup(self, welcome_email: bool) -> None:
        self.dep.setup(welcome_email=welcome_email)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([HRSYNC, "import", str(self.dep.integration), "--json"],
                                         env=self.dep.env, stdout=subprocess.DEVNULL, stderr=out)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)

    def after_kill(self) -> None:
        pass

    def recover(self) -> None:
        self.dep.recover()  # without a broker the pass runs the retry to its end itself


class WorkerDriver:
    """A scheduled import handed to an ``hrsync worker`` (Celery); the worker's whole process group
    is SIGKILLed, a fresh worker started, and a scheduler pass re-dispatches the run."""

    def __init__(self, dep: Deployment, start_worker: Callable[[], Any]) -> None:
        self.dep = dep
        self.start_worker = start_worker
        self.worker = start_worker()

    def setup(self, welcome_email: bool) -> None:
        self.dep.setup(welcome_email=welcome_email, frequency="daily")

    def start(self) -> None:
        self.dep.make_due()
        self.dep.cli("scheduler", "--once", "--loglevel", "WARNING")  # queues the run, sends it to Celery

    def alive(self) -> bool:
        return bool(self.worker.proc.poll() is None)

    def kill(self) -> None:
        self.worker.kill()

    def after_kill(self) -> None:
        self.worker.stop()
        self.worker = self.start_worker()

    def recover(self) -> None:
        self.dep.recover()
        wait_for(lambda: not self.dep.active_runs(), "the re-dispatched run to finish", step=0.2)


Driver = CliDriver | WorkerDriver


def kill_rounds(dep: Deployment, driver: Driver, *, label: str, seed: int, kills: int, people: int,
                invite_initial: bool, verify_each_round: bool, tally: Tally, say: Callable[[str], None],
                send_each_round: bool = True, first_target: str = "applying") -> None:
    """``kills`` rounds of: change the directory, start an import, SIGKILL it, check, recover, check."""
    rng = random.Random(f"{seed}:{label}")
    driver.setup(welcome_email=invite_initial)
    last: tuple[int, str] | None = None
    for number, target in enumerate(plan_targets(rng, kills, first_target), start=1):
        kill = Kill(label, seed, number, target)
        if number == 2 and not invite_initial:  # the initial load is in: hires from now on are invited
            dep.cli("integration", "edit", str(dep.integration), "--welcome-email")
        if number > 1:
            dep.change_directory(rng, number, people)
        snap = dep.snapshot()
        before = dep.last_run_id()
        driver.start()
        _aim(dep, rng, target, before, people, alive=driver.alive)
        run = dep.run_after(before)
        if not driver.alive() or (run is not None and run[1] not in ("queued", "running")):
            kill.outcome = "finished-before-kill"
        driver.kill()
        killed_at = time.monotonic()
        last = killed = _check_after_kill(dep, kill, before, snap)
        driver.after_kill()
        time.sleep(max(0.0, 1.2 - (time.monotonic() - killed_at)))  # older than --stale-after 1
        driver.recover()
        _check_after_recovery(dep, kill, killed)
        committed = killed is not None and killed[1] in FINISHED_OK
        if not kill.problems and (verify_each_round or committed):
            _verify_complete(dep, kill, expect_no_change=killed is not None)
        if not kill.problems:
            kill.problems.extend(dep.invitation_problems(send=send_each_round))
        tally.kills.append(kill)
        say(kill.line())
        if kill.problems:
            return  # the state is no longer a known one; the line above says how to get here
    final = Kill(label, seed, kills + 1, "none", outcome="final-import")
    _verify_complete(dep, final, expect_no_change=last is not None)
    if not final.problems:
        final.problems.extend(dep.invitation_problems())
    if final.problems:
        tally.kills.append(final)
        say(final.line())
