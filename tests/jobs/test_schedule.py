"""Schedule maths: frequencies, month ends, daylight-saving changes in two hemispheres, spread."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrsync.domain.schedule import (
    SPREAD_WITH_TIME,
    SPREAD_WITHOUT_TIME,
    next_run_for,
    next_run_time,
    spread_offset,
    wall_instants,
)
from hrsync.store.models import Integration, Programme

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone)


def runs(frequency: str, time: str | None, day: str | None, zone: ZoneInfo, start: datetime, n: int,
         key: int | None = None) -> list[datetime]:
    out, after = [], start
    for _ in range(n):
        nxt = next_run_time(frequency, time, day, zone, after=after, spread_key=key)
        assert nxt is not None
        out.append(nxt)
        after = nxt
    return out


# ---- daylight saving: London (clocks forward 29 March 2026 01:00 GMT, back 25 October 02:00 BST) ----


def test_a_daily_time_skipped_by_the_clocks_going_forward_runs_an_hour_later_by_the_clock_in_london() -> None:
    got = next_run_time("daily", "01:30", None, LONDON, after=utc(2026, 3, 28, 12))
    assert got == utc(2026, 3, 29, 1, 30)
    assert local(got, LONDON).strftime("%H:%M %Z") == "02:30 BST"


def test_a_daily_time_repeated_by_the_clocks_going_back_runs_once_in_london() -> None:
    days = runs("daily", "01:30", None, LONDON, utc(2026, 10, 24, 12), 3)
    assert days == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]
    assert [local(d, LONDON).strftime("%d %H:%M %Z") for d in days] == [
        "25 01:30 BST", "26 01:30 GMT", "27 01:30 GMT",
    ]


def test_daily_runs_keep_their_local_time_across_both_london_changes() -> None:
    for start in (utc(2026, 3, 20), utc(2026, 10, 18)):
        days = runs("daily", "06:15", None, LONDON, start, 14)
        assert {local(d, LONDON).strftime("%H:%M") for d in days} == {"06:15"}
        assert len({local(d, LONDON).date() for d in days}) == 14


# ---- daylight saving: Sydney (clocks back 5 April 2026 03:00 AEDT, forward 4 October 02:00 AEST) ----


def test_a_daily_time_repeated_when_sydney_clocks_go_back_runs_once() -> None:
    days = runs("daily", "02:30", None, SYDNEY, utc(2026, 4, 4, 0), 2)
    assert [local(d, SYDNEY).strftime("%d %H:%M %Z") for d in days] == ["05 02:30 AEDT", "06 02:30 AEST"]
    assert days[0] == utc(2026, 4, 4, 15, 30)  # the first of the two 02:30s


def test_a_daily_time_skipped_when_sydney_clocks_go_forward_runs_after_the_jump() -> None:
    got = next_run_time("daily", "02:30", None, SYDNEY, after=utc(2026, 10, 3, 0))
    assert local(got, SYDNEY).strftime("%d %H:%M %Z") == "04 03:30 AEDT"
    following = next_run_time("daily", "02:30", None, SYDNEY, after=got)
    assert local(following, SYDNEY).strftime("%d %H:%M %Z") == "05 02:30 AEDT"


@pytest.mark.parametrize(
    ("zone", "start"),
    [(LONDON, utc(2026, 3, 28, 18)), (LONDON, utc(2026, 10, 24, 18)),
     (SYDNEY, utc(2026, 4, 4, 8)), (SYDNEY, utc(2026, 10, 3, 8))],
)
def test_hourly_imports_follow_real_hours_through_a_dst_change(zone: ZoneInfo, start: datetime) -> None:
    hours = runs("hourly", "00:20", None, zone, start, 30)
    gaps = {b - a for a, b in itertools.pairwise(hours)}
    # Every real hour once; the hour the clocks skip has nothing to run in, so one gap is two hours.
    assert gaps <= {timedelta(hours=1), timedelta(hours=2)}
    assert sum(1 for a, b in itertools.pairwise(hours) if b - a == timedelta(hours=2)) <= 1
    assert len(set(hours)) == len(hours)
    assert all(local(h, zone).minute in range(20, 25) for h in hours)  # 20 past + spread under 5 min


def test_wall_instants_tell_normal_repeated_and_skipped_times_apart() -> None:
    assert wall_instants(datetime(2026, 6, 1, 12), LONDON) == [utc(2026, 6, 1, 11)]
    twice = [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]
    assert wall_instants(datetime(2026, 10, 25, 1, 30), LONDON) == twice
    assert wall_instants(datetime(2026, 3, 29, 1, 30), LONDON) == [utc(2026, 3, 29, 1, 30)]


# ---- weekly and monthly -------------------------------------------------------------------------


def test_weekly_runs_on_the_chosen_weekday_at_the_chosen_time() -> None:
    weeks = runs("weekly", "09:00", "friday", SYDNEY, utc(2026, 3, 25), 4)
    assert [local(w, SYDNEY).strftime("%a %d %b %H:%M") for w in weeks] == [
        "Fri 27 Mar 09:00", "Fri 03 Apr 09:00", "Fri 10 Apr 09:00", "Fri 17 Apr 09:00",
    ]


def test_a_monthly_day_the_month_lacks_becomes_its_last_day() -> None:
    months = runs("monthly", "07:00", "31", LONDON, utc(2027, 12, 1), 6)
    assert [local(m, LONDON).strftime("%Y-%m-%d %H:%M") for m in months] == [
        "2027-12-31 07:00", "2028-01-31 07:00", "2028-02-29 07:00",
        "2028-03-31 07:00", "2028-04-30 07:00", "2028-05-31 07:00",
    ]
    feb = next_run_time("monthly", "07:00", "30", LONDON, after=utc(2026, 2, 1))
    assert local(feb, LONDON).strftime("%Y-%m-%d") == "2026-02-28"


def test_a_monthly_run_on_the_last_day_of_the_month_in_sydney_is_the_day_before_in_utc() -> None:
    got = next_run_time("monthly", "08:00", "31", SYDNEY, after=utc(2026, 1, 1))
    assert got == utc(2026, 1, 30, 21, 0)


def test_a_run_due_now_is_not_due_again_until_its_next_slot() -> None:
    first = next_run_time("weekly", "09:00", "monday", LONDON, after=utc(2026, 6, 1))
    assert next_run_time("weekly", "09:00", "monday", LONDON, after=first) == first + timedelta(days=7)
    just_before = first - timedelta(microseconds=1)
    assert next_run_time("weekly", "09:00", "monday", LONDON, after=just_before) == first


# ---- spread ---------------------------------------------------------------------------------------


def test_spread_is_deterministic_and_different_for_different_integrations() -> None:
    assert spread_offset(42, SPREAD_WITHOUT_TIME) == spread_offset(42, SPREAD_WITHOUT_TIME)
    minutes = {int(spread_offset(i, SPREAD_WITHOUT_TIME).total_seconds()) // 60 for i in range(1, 1001)}
    assert len(minutes) >= 55  # a thousand integrations use (nearly) every minute of the hour
    assert all(timedelta(0) <= spread_offset(i, SPREAD_WITH_TIME) < SPREAD_WITH_TIME for i in range(500))
    assert spread_offset(None, SPREAD_WITHOUT_TIME) == timedelta(0)


def test_daily_imports_without_a_time_spread_over_the_default_hour() -> None:
    after = utc(2026, 6, 1, 12)
    starts = [next_run_time("daily", None, None, LONDON, after=after, spread_key=i) for i in range(200)]
    local_times = [local(s, LONDON) for s in starts]
    assert {t.hour for t in local_times} == {2}
    assert len({t.minute for t in local_times}) >= 40
    # The same integration keeps its slot: exactly one day later next time.
    again = next_run_time("daily", None, None, LONDON, after=starts[7], spread_key=7)
    assert again == starts[7] + timedelta(days=1)


def test_a_chosen_time_is_honoured_within_five_minutes() -> None:
    after = utc(2026, 6, 1)
    got = [next_run_time("daily", "06:00", None, LONDON, after=after, spread_key=i) for i in range(50)]
    assert all(timedelta(0) <= local(g, LONDON) - local(g, LONDON).replace(hour=6, minute=0, second=0)
               < SPREAD_WITH_TIME for g in got)
    assert len(set(got)) > 1


# ---- the model-level function and bad input -----------------------------------------------------


def test_only_live_scheduled_integrations_have_a_next_run() -> None:
    programme = Programme(name="p", timezone="Australia/Sydney")
    integration = Integration(id=5, status="live", frequency="daily", schedule_time="06:00")
    got = next_run_for(integration, programme, after=utc(2026, 6, 1))
    assert got is not None and local(got, SYDNEY).strftime("%H") == "06"
    for status in ("draft", "paused", "revoked"):
        integration.status = status
        assert next_run_for(integration, programme, after=utc(2026, 6, 1)) is None
    integration.status, integration.frequency = "live", "manual"
    assert next_run_for(integration, programme, after=utc(2026, 6, 1)) is None


@pytest.mark.parametrize(
    ("frequency", "time", "day"),
    [("yearly", None, None), ("daily", "25:00", None), ("daily", "7pm", None),
     ("weekly", None, "someday"), ("monthly", None, "32"), ("monthly", None, "monday")],
)
def test_bad_schedules_are_refused(frequency: str, time: str | None, day: str | None) -> None:
    with pytest.raises(ValueError):
        next_run_time(frequency, time, day, LONDON, after=utc(2026, 1, 1))


def test_a_naive_after_is_refused() -> None:
    with pytest.raises(ValueError):
        next_run_time("daily", "06:00", None, LONDON, after=datetime(2026, 1, 1))


# ---- properties ----------------------------------------------------------------------------------

PERIOD = {"hourly": timedelta(hours=2), "daily": timedelta(hours=25), "weekly": timedelta(days=7, hours=1),
          "monthly": timedelta(days=31, hours=1)}


@settings(max_examples=400, deadline=None)
@given(
    after=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from([LONDON, SYDNEY]),
    frequency=st.sampled_from(["hourly", "daily", "weekly", "monthly"]),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    weekday=st.sampled_from(["monday", "wednesday", "sunday"]),
    month_day=st.integers(1, 31),
    key=st.integers(1, 100_000),
)
def test_the_next_run_is_the_first_slot_after_the_given_instant(
    after: datetime,
    zone: ZoneInfo,
    frequency: str,
    hour: int,
    minute: int,
    weekday: str,
    month_day: int,
    key: int,
) -> None:
    time = f"{hour:02d}:{minute:02d}"
    day = weekday if frequency == "weekly" else str(month_day) if frequency == "monthly" else None
    got = next_run_time(frequency, time, day, zone, after=after, spread_key=key)
    assert got is not None and got.tzinfo is UTC
    assert after < got <= after + PERIOD[frequency]
    # Nothing due in between: asking from just before the result gives the result itself.
    just_before = got - timedelta(microseconds=1)
    assert next_run_time(frequency, time, day, zone, after=just_before, spread_key=key) == got
    # It is the (first) instant of the chosen wall time, plus spread, on a day that fits the rule.
    at = timedelta(hours=hour, minutes=minute) + spread_offset(key, SPREAD_WITH_TIME)
    if frequency == "hourly":
        wall = local(got, zone)
        assert wall.minute * 60 + wall.second == int((at - timedelta(hours=hour)).total_seconds()) % 3600
        return
    wall_date = local(got, zone).date()
    days = [d for d in (wall_date, wall_date - timedelta(days=1))
            if wall_instants(datetime.combine(d, datetime.min.time()) + at, zone)[0] == got]
    assert len(days) == 1
    day_of_run = days[0]
    if frequency == "weekly":
        assert day_of_run.strftime("%A").lower() == weekday
    if frequency == "monthly":
        last = ((day_of_run.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
        assert day_of_run.day == min(month_day, last)
