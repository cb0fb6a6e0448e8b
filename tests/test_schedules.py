"""``bot.schedules``: a schedule is read once, by APScheduler's CronTrigger, its complaints told in crontab's words;
crontab's day-of-week numbers (0 and 7 = Sunday) are remapped to APScheduler 3's Monday = 0."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.errors import UsageError
from bot.schedules import (
    DEFAULT_SCHEDULE,
    Schedule,
    ScheduleError,
    check_tz,
    crontab_day_of_week,
    digest_trigger,
    parse_schedule,
)

SATURDAY_NOON = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 24 * * *", "cron hour: 24 is out of range (0-23)"),
        ("60 8 * * *", "cron minute: 60 is out of range (0-59)"),
        ("0 8 0 * *", "cron day of month: 0 is out of range (1-31)"),
        ("0 8 * 13 *", "cron month: 13 is out of range (1-12)"),
        ("0 8 * * 8", "cron day of week: 8 is out of range (0-7)"),
        ("0 8 * * fri-mon", "cron day of week: range 'fri-mon' runs backwards"),
        ("0 17-9 * * *", "cron hour: range '17-9' runs backwards"),
        ("*/0 * * * *", "cron minute: step '0' must be a positive number"),
        ("0 x * * *", "cron hour: 'x' is not a number"),
        ("0 8 * * */0", "cron day of week: step '0' must be a positive number"),
    ],
)
def test_bad_cron_fields_are_named(cron: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(cron)
    assert str(caught.value) == message == caught.value.problem
    assert isinstance(caught.value, UsageError) and caught.value.exit_status == 2


def test_what_parses_is_what_fires() -> None:
    assert parse_schedule(DEFAULT_SCHEDULE) == Schedule("daily", "0 8 * * *", "daily 08:00")
    assert parse_schedule("0 12 31 12 7") == Schedule("cron", "0 12 31 12 7", "0 12 31 12 7")
    for sunday in ("0 9 * * 0", "0 9 * * 7", "0 9 * * sun"):
        fire = digest_trigger(sunday, "UTC").get_next_fire_time(None, SATURDAY_NOON)
        assert fire == datetime(2024, 6, 2, 9, 0, tzinfo=UTC), sunday
    monday = digest_trigger("0 9 * * 1", "UTC").get_next_fire_time(None, SATURDAY_NOON)
    assert monday == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    weekdays = digest_trigger("weekdays 07:30", "Europe/Berlin").get_next_fire_time(None, SATURDAY_NOON)
    assert weekdays is not None and weekdays.astimezone(UTC) == datetime(2024, 6, 3, 5, 30, tzinfo=UTC)


def test_day_of_week_remap_and_time_zones() -> None:
    assert crontab_day_of_week("6-7") == "sat,sun"
    assert crontab_day_of_week("0-6/3") == "wed,sat,sun"
    with pytest.raises(ScheduleError, match="runs backwards"):
        crontab_day_of_week("sat-sun")
    assert check_tz("Europe/Berlin") == "Europe/Berlin"
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Base'"):
        check_tz("Mars/Base")
