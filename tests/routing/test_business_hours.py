"""Business-time arithmetic for SLA clocks: hours, weekends, holidays, time zones and daylight saving.

Pure functions, no database. All dates are fixed in 2026 (1 Jan 2026 is a Thursday).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sdr_desk.routing.business_hours import (
    DEFAULT_HOURS,
    Calendar,
    add_business_seconds,
    business_seconds_between,
    is_open,
    next_opening,
)

HOUR = 3600
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = ("America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney")


def local(zone: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone), fold=fold)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekdays(zone: str = "America/New_York", holidays=()) -> Calendar:
    return Calendar.from_config(time_zone=zone, hours=DEFAULT_HOURS, holidays=holidays)


def daily(zone: str, *intervals: tuple[str, str]) -> Calendar:
    """The same intervals on all seven days, so DST Sundays are business days."""
    return Calendar.from_config(time_zone=zone, hours={day: [list(i) for i in intervals] for day in EVERY_DAY})


def day_length(calendar: Calendar, day: date) -> float:
    """Business seconds from one local midnight to the next."""
    zone = calendar.time_zone
    next_day = day + timedelta(days=1)
    return business_seconds_between(calendar, local(zone, day.year, day.month, day.day),
                                    local(zone, next_day.year, next_day.month, next_day.day))


NY = "America/New_York"


class TestOpenAndNextOpening:
    def test_a_moment_inside_hours_is_open_and_is_its_own_next_opening(self):
        moment = local(NY, 2026, 1, 7, 10, 30)  # Wednesday
        assert is_open(weekdays(), moment)
        assert next_opening(weekdays(), moment) == moment
        assert next_opening(weekdays(), moment).tzinfo is UTC

    def test_before_opening_the_next_opening_is_that_mornings_opening(self):
        moment = local(NY, 2026, 1, 7, 7)
        assert not is_open(weekdays(), moment)
        assert next_opening(weekdays(), moment) == local(NY, 2026, 1, 7, 9) == utc(2026, 1, 7, 14)

    def test_after_closing_the_next_opening_is_the_next_days_opening(self):
        assert next_opening(weekdays(), local(NY, 2026, 1, 7, 18)) == local(NY, 2026, 1, 8, 9)

    def test_closing_time_itself_is_closed(self):
        assert is_open(weekdays(), local(NY, 2026, 1, 7, 16, 59))
        assert not is_open(weekdays(), local(NY, 2026, 1, 7, 17))

    def test_friday_evening_opens_next_on_monday_morning(self):
        assert next_opening(weekdays(), local(NY, 2026, 1, 9, 18)) == local(NY, 2026, 1, 12, 9)

    def test_a_saturday_is_closed_all_day(self):
        assert not is_open(weekdays(), local(NY, 2026, 1, 10, 12))

    def test_a_holiday_is_skipped(self):
        calendar = weekdays(holidays=[date(2026, 1, 19)])  # Martin Luther King Jr. Day, a Monday
        assert not is_open(calendar, local(NY, 2026, 1, 19, 10))
        assert next_opening(calendar, local(NY, 2026, 1, 16, 18)) == local(NY, 2026, 1, 20, 9)

    def test_moments_in_any_zone_are_accepted_and_answers_are_in_utc(self):
        moment = datetime(2026, 1, 7, 20, tzinfo=ZoneInfo("Asia/Kolkata"))  # 09:30 in New York
        assert is_open(weekdays(), moment)
        assert next_opening(weekdays(), local("Asia/Kolkata", 2026, 1, 7, 12)) == utc(2026, 1, 7, 14)

    def test_a_naive_moment_is_refused(self):
        with pytest.raises(ValueError, match="timezone-aware"):
            is_open(weekdays(), datetime(2026, 1, 7, 10))


class TestAddingBusinessTime:
    def test_a_five_minute_sla_at_1658_on_friday_ends_0903_on_monday(self):
        due = add_business_seconds(weekdays(), local(NY, 2026, 1, 9, 16, 58), 5 * 60)
        assert due == local(NY, 2026, 1, 12, 9, 3)
        assert due.tzinfo is UTC

    def test_a_24_business_hour_sla_spans_three_days(self):
        # Mon 10-17 (7 h), Tue (8 h), Wed (8 h), Thu 09-10 (1 h).
        assert add_business_seconds(weekdays(), local(NY, 2026, 1, 5, 10), 24 * HOUR) == local(NY, 2026, 1, 8, 10)

    def test_an_sla_started_while_closed_counts_from_the_next_opening(self):
        assert add_business_seconds(weekdays(), local(NY, 2026, 1, 10, 12), HOUR) == local(NY, 2026, 1, 12, 10)

    def test_zero_seconds_is_the_next_opening(self):
        start = local(NY, 2026, 1, 9, 18)
        assert add_business_seconds(weekdays(), start, 0) == next_opening(weekdays(), start)

    def test_a_count_that_ends_at_closing_time_is_due_at_closing_time(self):
        assert add_business_seconds(weekdays(), local(NY, 2026, 1, 7, 9), 8 * HOUR) == local(NY, 2026, 1, 7, 17)

    def test_a_holiday_pushes_the_deadline_a_day(self):
        calendar = weekdays(holidays=["2026-01-19"])
        assert add_business_seconds(calendar, local(NY, 2026, 1, 16, 16), 2 * HOUR) == local(NY, 2026, 1, 20, 10)

    def test_negative_seconds_are_refused(self):
        with pytest.raises(ValueError, match="negative"):
            add_business_seconds(weekdays(), local(NY, 2026, 1, 7, 10), -1)

    def test_thirty_business_days_are_computed_per_day_and_land_on_the_right_afternoon(self):
        calendar = weekdays(holidays=[date(2026, 1, 19), date(2026, 2, 16)])  # MLK Day, Presidents' Day
        start = local(NY, 2026, 1, 5, 9)
        due = add_business_seconds(calendar, start, 30 * 8 * HOUR)
        # Six weeks of weekdays end Friday 13 Feb; the two holidays push it to Tuesday 17 Feb.
        assert due == local(NY, 2026, 2, 17, 17)
        assert business_seconds_between(calendar, start, due) == 30 * 8 * HOUR

    def test_a_count_longer_than_the_search_horizon_gives_none(self):
        assert add_business_seconds(Calendar.always_open(), utc(2026, 1, 1), 800 * 24 * HOUR) is None


class TestBusinessSecondsBetween:
    def test_a_weekend_does_not_count(self):
        # Fri 15-17 and Mon 09-11.
        assert business_seconds_between(weekdays(), local(NY, 2026, 1, 9, 15), local(NY, 2026, 1, 12, 11)) == 4 * HOUR

    def test_a_holiday_does_not_count(self):
        start, end = local(NY, 2026, 1, 16, 15), local(NY, 2026, 1, 20, 11)
        assert business_seconds_between(weekdays(), start, end) == 12 * HOUR
        assert business_seconds_between(weekdays(holidays=[date(2026, 1, 19)]), start, end) == 4 * HOUR

    def test_an_end_before_the_start_is_zero(self):
        assert business_seconds_between(weekdays(), local(NY, 2026, 1, 7, 12), local(NY, 2026, 1, 7, 10)) == 0
        assert business_seconds_between(weekdays(), local(NY, 2026, 1, 7, 12), local(NY, 2026, 1, 7, 12)) == 0

    def test_a_span_entirely_in_closed_time_is_zero(self):
        assert business_seconds_between(weekdays(), local(NY, 2026, 1, 10), local(NY, 2026, 1, 12, 9)) == 0

    def test_seconds_are_counted_exactly(self):
        start = local(NY, 2026, 1, 7, 16, 59) + timedelta(seconds=30.25)
        assert business_seconds_between(weekdays(), start, local(NY, 2026, 1, 8, 9, 1)) == 29.75 + 60


@pytest.mark.parametrize("zone", ZONES)
class TestTheSameCalculationsInEachZone:
    """A normal January week: wall-clock answers are identical in every zone."""

    def test_friday_1658_plus_five_minutes_is_monday_0903_local(self, zone):
        due = add_business_seconds(weekdays(zone), local(zone, 2026, 1, 9, 16, 58), 300)
        assert due == local(zone, 2026, 1, 12, 9, 3)

    def test_friday_evening_opens_on_monday_morning_local(self, zone):
        assert next_opening(weekdays(zone), local(zone, 2026, 1, 9, 18)) == local(zone, 2026, 1, 12, 9)

    def test_a_local_holiday_is_skipped(self, zone):
        calendar = weekdays(zone, holidays=[date(2026, 1, 12)])
        assert next_opening(calendar, local(zone, 2026, 1, 9, 18)) == local(zone, 2026, 1, 13, 9)

    def test_the_weekend_does_not_count(self, zone):
        start, end = local(zone, 2026, 1, 9, 15), local(zone, 2026, 1, 12, 11)
        assert business_seconds_between(weekdays(zone), start, end) == 4 * HOUR


# (zone, day the clocks change, hours in that local day)
DST_DAYS = [
    (NY, date(2026, 3, 8), 23),  # 02:00 EST -> 03:00 EDT
    (NY, date(2026, 11, 1), 25),  # 02:00 EDT -> 01:00 EST
    ("Europe/London", date(2026, 3, 29), 23),  # 01:00 GMT -> 02:00 BST
    ("Europe/London", date(2026, 10, 25), 25),  # 02:00 BST -> 01:00 GMT
    ("Australia/Sydney", date(2026, 4, 5), 25),  # 03:00 AEDT -> 02:00 AEST
    ("Australia/Sydney", date(2026, 10, 4), 23),  # 02:00 AEST -> 03:00 AEDT
    ("Asia/Kolkata", date(2026, 3, 8), 24),  # no daylight saving: the control
]


@pytest.mark.parametrize(("zone", "day", "hours_in_day"), DST_DAYS)
class TestDaylightSavingDays:
    def test_a_nine_to_five_day_is_eight_hours(self, zone, day, hours_in_day):
        assert day_length(daily(zone, ("09:00", "17:00")), day) == 8 * HOUR

    def test_an_interval_spanning_the_change_is_an_hour_shorter_or_longer(self, zone, day, hours_in_day):
        # 00:00-04:00 contains every one of these changes; it lasts 4 h plus the day's surplus (-1, +1 or 0).
        assert day_length(daily(zone, ("00:00", "04:00")), day) == (4 + hours_in_day - 24) * HOUR

    def test_an_always_open_day_is_as_long_as_the_wall_clock_says(self, zone, day, hours_in_day):
        assert day_length(Calendar.always_open(zone), day) == hours_in_day * HOUR

    def test_an_overnight_calendar_loses_or_gains_the_hour(self, zone, day, hours_in_day):
        calendar = daily(zone, ("22:00", "24:00"), ("00:00", "06:00"))
        eve = day - timedelta(days=1)
        start, end = local(zone, eve.year, eve.month, eve.day, 22), local(zone, day.year, day.month, day.day, 6)
        assert business_seconds_between(calendar, start, end) == (8 + hours_in_day - 24) * HOUR


# (zone, a Friday before a clock change, the following Monday 10:00 in UTC)
WEEKENDS_WITH_A_CHANGE = [
    (NY, date(2026, 3, 6), utc(2026, 3, 9, 14)),  # Friday EST, Monday EDT
    (NY, date(2026, 10, 30), utc(2026, 11, 2, 15)),  # Friday EDT, Monday EST
    ("Europe/London", date(2026, 3, 27), utc(2026, 3, 30, 9)),
    ("Europe/London", date(2026, 10, 23), utc(2026, 10, 26, 10)),
    ("Australia/Sydney", date(2026, 4, 3), utc(2026, 4, 6, 0)),
    ("Australia/Sydney", date(2026, 10, 2), utc(2026, 10, 4, 23)),
]


@pytest.mark.parametrize(("zone", "friday", "monday_ten_utc"), WEEKENDS_WITH_A_CHANGE)
class TestSlasAcrossAClockChange:
    def test_two_hours_from_friday_1600_is_monday_1000_local(self, zone, friday, monday_ten_utc):
        start = local(zone, friday.year, friday.month, friday.day, 16)
        assert add_business_seconds(weekdays(zone), start, 2 * HOUR) == monday_ten_utc

    def test_friday_1600_to_monday_1000_is_two_business_hours(self, zone, friday, monday_ten_utc):
        start = local(zone, friday.year, friday.month, friday.day, 16)
        assert business_seconds_between(weekdays(zone), start, monday_ten_utc) == 2 * HOUR


class TestWallTimesThatDoNotExistOrHappenTwice:
    def test_an_interval_starting_in_the_spring_forward_gap_opens_when_the_gap_ends(self):
        calendar = daily(NY, ("02:30", "05:00"))
        assert next_opening(calendar, local(NY, 2026, 3, 8)) == utc(2026, 3, 8, 7)  # 03:00 EDT
        assert day_length(calendar, date(2026, 3, 8)) == 2 * HOUR

    def test_an_interval_ending_in_the_gap_closes_when_the_gap_begins(self):
        calendar = daily(NY, ("00:00", "02:30"))
        assert day_length(calendar, date(2026, 3, 8)) == 2 * HOUR
        assert is_open(calendar, utc(2026, 3, 8, 6, 59))
        assert not is_open(calendar, utc(2026, 3, 8, 7))

    def test_an_interval_wholly_inside_the_gap_never_opens(self):
        sundays = Calendar.from_config(time_zone=NY, hours={"sun": [["02:00", "02:30"]]})
        assert next_opening(sundays, local(NY, 2026, 3, 8)) == local(NY, 2026, 3, 15, 2)

    def test_the_gap_is_found_in_other_zones_too(self):
        assert next_opening(daily("Europe/London", ("01:30", "03:00")), utc(2026, 3, 29)) == utc(2026, 3, 29, 1)
        assert next_opening(daily("Australia/Sydney", ("02:15", "05:00")), local("Australia/Sydney", 2026, 10, 4)) \
            == utc(2026, 10, 3, 16)  # 03:00 AEDT

    def test_a_repeated_start_time_opens_at_its_first_occurrence(self):
        calendar = daily(NY, ("01:30", "03:00"))  # 01:30 EDT to 03:00 EST
        # Compared in UTC: Python never finds an ambiguous local time equal to a moment in another zone.
        assert next_opening(calendar, local(NY, 2026, 11, 1)) == utc(2026, 11, 1, 5, 30)  # the first 01:30, EDT
        assert day_length(calendar, date(2026, 11, 1)) == 2.5 * HOUR

    def test_a_repeated_end_time_closes_at_its_last_occurrence(self):
        calendar = daily(NY, ("00:00", "01:30"))  # 00:00 EDT to 01:30 EST
        assert is_open(calendar, local(NY, 2026, 11, 1, 1, 15, fold=1))  # the second 01:15, EST
        assert not is_open(calendar, utc(2026, 11, 1, 6, 30))  # the second 01:30
        assert day_length(calendar, date(2026, 11, 1)) == 2.5 * HOUR

    def test_adjacent_intervals_meeting_at_a_repeated_time_are_not_counted_twice(self):
        calendar = daily(NY, ("00:00", "01:30"), ("01:30", "03:00"))
        assert day_length(calendar, date(2026, 11, 1)) == 4 * HOUR  # 00:00 EDT to 03:00 EST


class TestTwoIntervalsADay:
    lunch = Calendar.from_config(time_zone=NY, hours={day: [["09:00", "12:00"], ["13:00", "17:00"]]
                                                      for day in EVERY_DAY[:5]})

    def test_lunch_is_closed_and_the_afternoon_opens_at_1300(self):
        assert not is_open(self.lunch, local(NY, 2026, 1, 7, 12, 30))
        assert next_opening(self.lunch, local(NY, 2026, 1, 7, 12, 30)) == local(NY, 2026, 1, 7, 13)

    def test_an_hour_from_1130_skips_lunch(self):
        assert add_business_seconds(self.lunch, local(NY, 2026, 1, 7, 11, 30), HOUR) == local(NY, 2026, 1, 7, 13, 30)

    def test_the_day_is_seven_hours(self):
        assert day_length(self.lunch, date(2026, 1, 7)) == 7 * HOUR

    def test_intervals_may_be_configured_in_any_order(self):
        calendar = Calendar.from_config(time_zone=NY, hours={"wed": [["13:00", "17:00"], ["09:00", "12:00"]]})
        assert calendar.hours[2] == [(time(9), time(12)), (time(13), time(17))]


class TestMidnightAndOvernightCalendars:
    follow_the_sun = daily("Asia/Kolkata", ("22:00", "24:00"), ("00:00", "06:00"))

    def test_24_00_and_00_00_both_end_at_midnight(self):
        a = Calendar.from_config(time_zone=NY, hours={"mon": [["18:00", "24:00"]]})
        b = Calendar.from_config(time_zone=NY, hours={"mon": [["18:00", "00:00"]]})
        assert a.hours == b.hours == {0: [(time(18), time(0))]}
        assert day_length(a, date(2026, 1, 5)) == 6 * HOUR

    def test_an_overnight_team_is_open_across_midnight(self):
        zone = "Asia/Kolkata"
        assert is_open(self.follow_the_sun, local(zone, 2026, 1, 7, 23, 59))
        assert is_open(self.follow_the_sun, local(zone, 2026, 1, 8, 0, 0))
        assert is_open(self.follow_the_sun, local(zone, 2026, 1, 8, 5, 59))
        assert not is_open(self.follow_the_sun, local(zone, 2026, 1, 8, 6))

    def test_an_hour_from_2330_ends_at_0030(self):
        zone = "Asia/Kolkata"
        due = add_business_seconds(self.follow_the_sun, local(zone, 2026, 1, 7, 23, 30), HOUR)
        assert due == local(zone, 2026, 1, 8, 0, 30)

    def test_a_night_is_eight_hours(self):
        zone = "Asia/Kolkata"
        assert business_seconds_between(self.follow_the_sun, local(zone, 2026, 1, 7, 21),
                                        local(zone, 2026, 1, 8, 7)) == 8 * HOUR

    def test_a_holiday_closes_both_intervals_of_its_date(self):
        zone = "Asia/Kolkata"
        calendar = Calendar.from_config(time_zone=zone, holidays=[date(2026, 1, 8)],
                                        hours={day: [["00:00", "06:00"], ["22:00", "24:00"]] for day in EVERY_DAY})
        assert business_seconds_between(calendar, local(zone, 2026, 1, 7), local(zone, 2026, 1, 10)) == 16 * HOUR


class TestAlwaysOpenAndNeverOpen:
    def test_always_open_counts_elapsed_time(self):
        calendar = Calendar.always_open()
        start = utc(2026, 1, 10, 3, 17)
        assert is_open(calendar, start)
        assert add_business_seconds(calendar, start, 90 * 60) == start + timedelta(minutes=90)
        assert business_seconds_between(calendar, start, start + timedelta(days=3)) == 3 * 24 * HOUR

    def test_always_open_in_a_zone_with_daylight_saving_still_counts_elapsed_time(self):
        calendar = Calendar.always_open(NY)
        start = utc(2026, 3, 7, 17)  # noon on the Saturday before the spring-forward Sunday
        assert add_business_seconds(calendar, start, 48 * HOUR) == start + timedelta(hours=48)

    def test_a_calendar_with_no_hours_never_opens(self):
        calendar = Calendar.from_config(time_zone=NY, hours={"mon": []})
        moment = local(NY, 2026, 1, 5, 10)
        assert not is_open(calendar, moment)
        assert next_opening(calendar, moment) is None
        assert add_business_seconds(calendar, moment, 60) is None
        assert business_seconds_between(calendar, moment, moment + timedelta(days=30)) == 0

    def test_a_calendar_whose_every_open_day_is_a_holiday_gives_none(self):
        calendar = Calendar.from_config(time_zone="UTC", hours={"mon": [["09:00", "17:00"]]},
                                        holidays=[date(2026, 1, 5) + timedelta(weeks=n) for n in range(120)])
        assert next_opening(calendar, utc(2026, 1, 1)) is None


class TestConfiguration:
    def test_default_hours_are_nine_to_five_on_weekdays(self):
        assert {day: [["09:00", "17:00"]] for day in EVERY_DAY[:5]} == DEFAULT_HOURS
        calendar = weekdays()
        assert calendar.hours == {weekday: [(time(9), time(17))] for weekday in range(5)}
        assert calendar.holidays == frozenset()

    def test_holidays_may_be_dates_or_iso_text(self):
        calendar = weekdays(holidays=["2026-12-25", date(2026, 1, 1)])
        assert calendar.holidays == frozenset({date(2026, 12, 25), date(2026, 1, 1)})

    @pytest.mark.parametrize(("time_zone", "hours", "holidays", "message"), [
        ("Mars/Olympus_Mons", DEFAULT_HOURS, (), "unknown time zone 'Mars/Olympus_Mons'"),
        ("", DEFAULT_HOURS, (), "unknown time zone"),
        (NY, {"mon": [["09:00", "25:00"]]}, (), r"mon: '25:00' is not a time of day"),
        (NY, {"mon": [["9am", "17:00"]]}, (), r"mon: '9am' is not a time of day"),
        (NY, {"mon": [["24:00", "24:00"]]}, (), r"mon: '24:00' is not a time of day"),
        (NY, {"tue": [["17:00", "09:00"]]}, (), "tue: 17:00-09:00 must start before it ends"),
        (NY, {"tue": [["09:00", "09:00"]]}, (), "must start before it ends"),
        (NY, {"wed": [["09:00", "13:00"], ["12:00", "17:00"]]}, (), "wed: 12:00-17:00 overlaps"),
        (NY, {"mon2": [["09:00", "17:00"]]}, (), "unknown weekday 'mon2'"),
        (NY, {"mon": ["09:00-17:00"]}, (), "each interval must be"),
        (NY, {"mon": "09:00-17:00"}, (), "expected a list"),
        (NY, [["09:00", "17:00"]], (), "business hours must be an object"),
        (NY, DEFAULT_HOURS, ["Christmas"], "holiday 'Christmas' is not a date"),
    ])
    def test_bad_configuration_is_refused_with_a_clear_message(self, time_zone, hours, holidays, message):
        with pytest.raises(ValueError, match=message):
            Calendar.from_config(time_zone=time_zone, hours=hours, holidays=holidays)

    def test_a_hand_built_calendar_is_checked_too(self):
        with pytest.raises(ValueError, match="overlaps"):
            Calendar(time_zone="UTC", hours={0: [(time(9), time(12)), (time(11), time(17))]})
        with pytest.raises(ValueError, match="weekday"):
            Calendar(time_zone="UTC", hours={7: [(time(9), time(17))]})
        with pytest.raises(ValueError, match="time zone"):
            Calendar(time_zone="Nowhere/Special", hours={})

    def test_touching_intervals_are_allowed(self):
        calendar = Calendar.from_config(time_zone=NY, hours={"mon": [["09:00", "12:00"], ["12:00", "17:00"]]})
        assert day_length(calendar, date(2026, 1, 5)) == 8 * HOUR


# --- properties over many random moments (fixed seed) -----------------------------------------

PROPERTY_CALENDARS = {
    "new york with lunch and holidays": Calendar.from_config(
        time_zone=NY, hours={day: [["09:00", "12:00"], ["13:00", "17:30"]] for day in EVERY_DAY[:5]},
        holidays=["2026-01-19", "2026-05-25", "2026-07-03", "2026-11-26"]),
    "london weekdays": weekdays("Europe/London", holidays=["2026-12-25"]),
    "kolkata six days": Calendar.from_config(
        time_zone="Asia/Kolkata", hours={day: [["09:30", "18:30"]] for day in EVERY_DAY[:6]}),
    "sydney follow the sun": daily("Australia/Sydney", ("00:00", "06:00"), ("21:15", "24:00")),
    "new york small hours": daily(NY, ("00:30", "02:30"), ("03:00", "04:00")),  # straddles every US change
}


def random_moment(rng: random.Random) -> datetime:
    """A whole-second UTC moment in 2026; a third of them within a day of a clock change."""
    if rng.random() < 1 / 3:
        change = rng.choice([utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1),
                             utc(2026, 4, 4, 16), utc(2026, 10, 3, 16)])
        return change + timedelta(seconds=rng.randrange(-86400, 86400))
    return utc(2026, 1, 1) + timedelta(seconds=rng.randrange(365 * 86400))


@pytest.mark.parametrize("calendar", PROPERTY_CALENDARS.values(), ids=PROPERTY_CALENDARS.keys())
class TestProperties:
    def test_business_time_between_adds_up_over_consecutive_spans(self, calendar):
        rng = random.Random(2026)
        for _ in range(150):
            a = random_moment(rng)
            b = a + timedelta(seconds=rng.randrange(10 * 86400))
            c = b + timedelta(seconds=rng.randrange(10 * 86400))
            whole = business_seconds_between(calendar, a, c)
            assert business_seconds_between(calendar, a, b) + business_seconds_between(calendar, b, c) == whole
            assert 0 <= whole <= (c - a).total_seconds()

    def test_adding_the_business_time_between_two_moments_lands_on_the_second_when_it_is_open(self, calendar):
        rng = random.Random(2026)
        landed = 0
        for _ in range(300):
            start = random_moment(rng)
            end = start + timedelta(seconds=rng.randrange(15 * 86400))
            if is_open(calendar, end):
                assert add_business_seconds(calendar, start, business_seconds_between(calendar, start, end)) == end
                landed += 1
        assert landed >= 20  # the loop really exercised the property

    def test_the_business_time_until_a_deadline_is_what_was_added(self, calendar):
        rng = random.Random(2026)
        for _ in range(150):
            start = random_moment(rng)
            seconds = rng.randrange(60 * HOUR)
            due = add_business_seconds(calendar, start, seconds)
            assert due is not None and due.tzinfo is UTC
            assert business_seconds_between(calendar, start, due) == seconds
            assert due == next_opening(calendar, start) if seconds == 0 else due > start

    def test_next_opening_is_open_and_nothing_before_it_is(self, calendar):
        rng = random.Random(2026)
        for _ in range(150):
            moment = random_moment(rng)
            opening = next_opening(calendar, moment)
            assert opening >= moment and is_open(calendar, opening)
            assert business_seconds_between(calendar, moment, opening) == 0
            assert is_open(calendar, moment) == (opening == moment)
