"""Schedule maths: the next instant an integration's import is due, as an aware UTC datetime.

Pure functions (no database, no clock unless you omit ``after``), so the rules can be tested
exhaustively. The rules, in one place:

* **Frequencies.** ``hourly`` at a minute of every hour; ``daily`` at HH:MM; ``weekly`` on a
  weekday at HH:MM (default Monday); ``monthly`` on day D at HH:MM (default the 1st; a day the
  month does not have becomes the month's last day, so "31" runs on 30 April and 28/29 February);
  ``manual`` never.
* **Local time.** Times are wall-clock times in the programme's time zone, because that is what
  the administrator typed; the result is the UTC instant of that wall time.
* **Daylight saving.** A wall time that does not exist on the day the clocks go forward (01:30 in
  London in late March) runs at the same distance after the jump, i.e. one hour later by the
  clock (02:30): the run is late, never skipped. A wall time that happens twice when the clocks go
  back runs once, at its first occurrence. Hourly imports are the exception by design: they
  follow real hours, so the repeated hour still gets its import and the skipped hour loses its one.
* **Spread.** Thousands of programmes must not hit an HR system and the workers in the same minute.
  Every integration gets a *deterministic* offset derived from its id (a hash, not ``random``),
  so its runs stay evenly spaced (exactly 24 h apart for a daily import) and the next due time
  shown in the portal is the time it will really run:

  - no time given: hourly runs at a spread minute:second of the hour (0-59:59); daily, weekly and
    monthly run at :data:`DEFAULT_TIME` plus a spread of up to an hour;
  - a time given: it is honoured, plus a spread of up to :data:`SPREAD_WITH_TIME` (five minutes),
    because administrators mostly pick round hours.

  Deterministic offsets beat jitter here: jitter would move the run each time and make "next run
  at" a guess, and with many integrations a hash spreads them as evenly as random numbers would.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

from hrsync.store.enums import Frequency, IntegrationStatus


class Scheduled(Protocol):
    """What the schedule reads of an integration (the store's ``Integration`` row fits)."""

    id: int
    status: str
    frequency: str
    schedule_time: str | None
    schedule_day: str | None


class HasTimezone(Protocol):
    timezone: str

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_TIME = "02:00"  # quiet hours where the programme is, for imports with no chosen time
DEFAULT_WEEKDAY = "monday"
DEFAULT_MONTH_DAY = 1
DEFAULT_TIMEZONE = "Europe/London"
SPREAD_WITHOUT_TIME = timedelta(hours=1)
SPREAD_WITH_TIME = timedelta(minutes=5)


def spread_offset(spread_key: int | str | None, window: timedelta) -> timedelta:
    """A stable offset in ``[0, window)`` seconds for this key (the same in every process).

    ``hash()`` is salted per process for strings, so a real digest is used instead.
    """
    seconds = int(window.total_seconds())
    if spread_key is None or seconds <= 0:
        return timedelta(0)
    digest = hashlib.blake2b(f"hrsync-schedule:{spread_key}".encode(), digest_size=8).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % seconds)


def parse_time(value: str) -> time:
    """``"HH:MM"`` (24-hour) → :class:`datetime.time`; ``ValueError`` for anything else."""
    hh, sep, mm = value.strip().partition(":")
    if not (sep and hh.isdigit() and mm.isdigit()):
        raise ValueError(f"time {value!r} must be HH:MM")
    hour, minute = int(hh), int(mm)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"time {value!r} must be HH:MM on a 24-hour clock")
    return time(hour, minute)


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def wall_instants(wall: datetime, zone: tzinfo) -> list[datetime]:
    """The UTC instants at which the naive wall-clock time ``wall`` happens in ``zone``, in order.

    One instant normally; two when the clocks go back (the time happens twice); and for a time
    skipped when the clocks go forward, the single instant the same distance after the jump.
    """
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    u_first, u_second = first.astimezone(UTC), second.astimezone(UTC)
    if u_first == u_second:
        return [u_first]

    def exists(aware: datetime) -> bool:
        return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None, fold=0) == wall

    if exists(first) and exists(second):
        return sorted({u_first, u_second})
    # In the gap: PEP 495 reads the time with the offset before the jump (fold=0), which lands
    # after the jump; take the later of the two readings so this holds whatever the zone does.
    return [max(u_first, u_second)]


def _month_day(year: int, month: int, day: int) -> date:
    """Day ``day`` of the month, clamped to the month's last day."""
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last = (next_month - timedelta(days=1)).day
    return date(year, month, min(day, last))


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _weekday_index(day: str | None) -> int:
    name = (day or DEFAULT_WEEKDAY).strip().lower()
    if name not in WEEKDAYS:
        raise ValueError(f"day {day!r} must be a weekday name for a weekly schedule")
    return WEEKDAYS.index(name)


def _month_day_number(day: str | None) -> int:
    text = (day or str(DEFAULT_MONTH_DAY)).strip()
    if not text.isdigit() or not 1 <= int(text) <= 31:
        raise ValueError(f"day {day!r} must be a day of the month (1-31) for a monthly schedule")
    return int(text)


def _time_of_day(schedule_time: str | None, spread_key: int | str | None) -> timedelta:
    """Offset from local midnight: the chosen (or default) time plus this integration's spread."""
    if schedule_time:
        chosen, window = parse_time(schedule_time), SPREAD_WITH_TIME
    else:
        chosen, window = parse_time(DEFAULT_TIME), SPREAD_WITHOUT_TIME
    return timedelta(hours=chosen.hour, minutes=chosen.minute) + spread_offset(spread_key, window)


def _minute_of_hour(schedule_time: str | None, spread_key: int | str | None) -> timedelta:
    if schedule_time:
        minute = timedelta(minutes=parse_time(schedule_time).minute)
        return minute + spread_offset(spread_key, SPREAD_WITH_TIME)
    return spread_offset(spread_key, SPREAD_WITHOUT_TIME)


def _first_after(walls: list[datetime], zone: tzinfo, after: datetime, *, every_occurrence: bool) -> datetime:
    instants: list[datetime] = []
    for wall in walls:
        found = wall_instants(wall, zone)
        instants.extend(found if every_occurrence else found[:1])
    later = [i for i in instants if i > after]
    if not later:  # pragma: no cover - the candidate windows below always reach past ``after``
        raise AssertionError("no candidate after the given instant")
    return min(later)


def next_run_time(
    frequency: str,
    schedule_time: str | None,
    schedule_day: str | None,
    tz: str | tzinfo,
    *,
    after: datetime,
    spread_key: int | str | None = None,
) -> datetime | None:
    """The first due instant strictly after ``after`` (aware UTC), or ``None`` for ``manual``.

    ``spread_key`` (the integration id) picks the deterministic spread; ``None`` means no spread.
    Raises ``ValueError`` for an unknown frequency, a bad time or a day that does not fit.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    try:
        freq = Frequency(frequency)
    except ValueError:
        raise ValueError(f"unknown frequency {frequency!r}") from None
    if freq is Frequency.MANUAL:
        return None
    zone = _zone(tz)
    after = after.astimezone(UTC)
    local = after.astimezone(zone).replace(tzinfo=None, fold=0)
    midnight = datetime.combine(local.date(), time())

    if freq is Frequency.HOURLY:
        hour = local.replace(minute=0, second=0, microsecond=0)
        offset = _minute_of_hour(schedule_time, spread_key)
        walls = [hour + timedelta(hours=h) + offset for h in range(-2, 4)]
        return _first_after(walls, zone, after, every_occurrence=True)

    at = _time_of_day(schedule_time, spread_key)
    if freq is Frequency.DAILY:
        walls = [midnight + timedelta(days=d) + at for d in range(-1, 3)]
    elif freq is Frequency.WEEKLY:
        weekday = _weekday_index(schedule_day)
        walls = [
            midnight + timedelta(days=d) + at
            for d in range(-1, 9)
            if (local.date() + timedelta(days=d)).weekday() == weekday
        ]
    else:
        day = _month_day_number(schedule_day)
        walls = []
        for delta in range(-1, 3):
            year, month = _add_months(local.year, local.month, delta)
            walls.append(datetime.combine(_month_day(year, month, day), time()) + at)
    return _first_after(walls, zone, after, every_occurrence=False)


def next_run_for(
    integration: Scheduled, programme: HasTimezone | None, after: datetime | None = None
) -> datetime | None:
    """When this integration is next due (aware UTC), or ``None`` when nothing should run.

    ``None`` for a manual schedule, for any integration that is not live (draft, paused, revoked)
    and for a quarantined one (its scheduled imports stop until it is lifted): the services set
    ``next_run_at`` from this on publish, resume and edit.
    """
    if integration.status != IntegrationStatus.LIVE.value or getattr(integration, "quarantined_at", None):
        return None
    tz = programme.timezone if programme is not None and programme.timezone else DEFAULT_TIMEZONE
    return next_run_time(
        integration.frequency,
        integration.schedule_time,
        integration.schedule_day,
        tz,
        after=after or datetime.now(UTC),
        spread_key=integration.id,
    )


#: The first transient failures retry sooner than the schedule: 5, 15, 45 minutes, … after the
#: failure (each step three times the last), never later than the next regular slot.
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_FACTOR = 3


def backoff_delay(failures: int) -> timedelta:
    """How long after the ``failures``-th transient failure in a row the next attempt comes (uncapped)."""
    if failures < 1:
        raise ValueError("failures counts from 1")
    steps: int = BACKOFF_FACTOR ** min(failures - 1, 20)
    return BACKOFF_FIRST * steps


def next_attempt_after_transient(
    integration: Scheduled, programme: HasTimezone | None, failures: int, *, now: datetime
) -> datetime | None:
    """When to try again after ``failures`` transient failures in a row: the back-off step, capped at
    the next regular slot. ``None`` when nothing is scheduled (manual, not live, quarantined)."""
    regular = next_run_for(integration, programme, after=now)
    if regular is None:
        return None
    return min(regular, now + backoff_delay(failures))
