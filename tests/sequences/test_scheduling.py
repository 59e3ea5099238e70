"""When a step is due: business days of the lead's zone, weekends and two countries' holidays skipped,
the team's holidays too, placed at the send window's opening with daylight saving right."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from sdr_desk.routing.models import TeamHoliday
from sdr_desk.sequences.models import SequenceTemplate, Step
from sdr_desk.sequences.scheduling import StepUnschedulable, lead_send_zone, step_due_at
from tests.desk_fixtures import team_make
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def step_of(**fields) -> Step:
    fields = {"channel": "call", "position": 1, "delay_business_days": 1, "window_start": time(9),
              "window_end": time(17), **fields}
    return Step(template=SequenceTemplate(name="t"), **fields)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class TestBusinessDays:
    def test_a_friday_step_a_day_later_is_due_on_monday_at_the_window_opening(self):
        # Fri 2026-02-13 15:00 New York -> Mon 2026-02-16 is Presidents' Day, a US holiday -> Tue 09:00 EST.
        due = step_due_at(step_of(), start=utc(2026, 2, 13, 20), zone="America/New_York", country="US")
        assert due == utc(2026, 2, 17, 14)

    def test_the_weekend_alone_is_skipped_where_monday_is_a_working_day(self):
        due = step_due_at(step_of(), start=utc(2026, 2, 13, 14), zone="Europe/Berlin", country="DE")
        assert due == utc(2026, 2, 16, 8)  # Monday 09:00 CET

    def test_us_thanksgiving_is_skipped_for_a_us_lead(self):
        # Wed 2026-11-25 10:00 EST, one business day: Thursday is Thanksgiving, so Friday 09:00 EST.
        due = step_due_at(step_of(), start=utc(2026, 11, 25, 15), zone="America/New_York", country="US")
        assert due == utc(2026, 11, 27, 14)

    def test_thanksgiving_is_a_working_day_for_a_german_lead(self):
        due = step_due_at(step_of(), start=utc(2026, 11, 25, 9), zone="Europe/Berlin", country="DE")
        assert due == utc(2026, 11, 26, 8)

    def test_german_unity_day_is_skipped_for_a_german_lead_only(self):
        # Thu 2025-10-02: Friday 3 October is Tag der Deutschen Einheit in Germany, not in the US.
        german = step_due_at(step_of(), start=utc(2025, 10, 2, 8), zone="Europe/Berlin", country="DE")
        american = step_due_at(step_of(), start=utc(2025, 10, 2, 14), zone="America/New_York", country="US")
        assert german == utc(2025, 10, 6, 7)  # Monday 09:00 CEST
        assert american == utc(2025, 10, 3, 13)  # Friday 09:00 EDT

    def test_the_teams_own_holidays_are_skipped_too(self):
        team = team_make("Berlin", time_zone="Europe/Berlin")
        TeamHoliday.objects.create(team=team, date=date(2026, 2, 17), name="Offsite")
        due = step_due_at(step_of(), start=utc(2026, 2, 16, 10), zone="Europe/Berlin", country="DE", team=team)
        assert due == utc(2026, 2, 18, 8)

    def test_several_days_count_business_days_only(self):
        # Mon 2026-02-02 + 5 business days = Mon 2026-02-09.
        due = step_due_at(step_of(delay_business_days=5), start=utc(2026, 2, 2, 10), zone="Europe/Berlin",
                          country="DE")
        assert due == utc(2026, 2, 9, 8)

    def test_no_delay_inside_the_window_is_due_at_once_and_after_it_the_next_business_morning(self):
        step = step_of(delay_business_days=0)
        assert step_due_at(step, start=utc(2026, 2, 2, 10), zone="Europe/Berlin") == utc(2026, 2, 2, 10)
        assert step_due_at(step, start=utc(2026, 2, 6, 18), zone="Europe/Berlin") == utc(2026, 2, 9, 8)


class TestDaylightSaving:
    def test_a_step_across_the_march_change_opens_at_nine_daylight_time(self):
        # Fri 2026-03-06 15:00 EST (UTC-5); the clocks go forward on Sun 8 March; Monday 09:00 is EDT (UTC-4).
        due = step_due_at(step_of(), start=utc(2026, 3, 6, 20), zone="America/New_York", country="US")
        assert due == utc(2026, 3, 9, 13)

    def test_a_step_across_the_november_change_opens_at_nine_standard_time(self):
        # Fri 2026-10-30 10:00 EDT; the clocks go back on Sun 1 November; Monday 09:00 is EST (UTC-5).
        due = step_due_at(step_of(), start=utc(2026, 10, 30, 14), zone="America/New_York", country="US")
        assert due == utc(2026, 11, 2, 14)


class TestFirstStep:
    def test_minutes_after_enrolment_inside_the_window(self):
        step = step_of(position=0, delay_business_days=0, delay_minutes=5)
        assert step_due_at(step, start=utc(2026, 2, 2, 10), zone="Europe/Berlin") == utc(2026, 2, 2, 10, 5)

    def test_minutes_that_land_after_the_window_wait_for_its_next_opening(self):
        step = step_of(position=0, delay_business_days=0, delay_minutes=5)
        assert step_due_at(step, start=utc(2026, 2, 2, 16, 58), zone="Europe/Berlin") == utc(2026, 2, 3, 8)


class TestZones:
    def test_the_leads_own_zone_then_its_countrys_then_the_teams(self):
        team = team_make("Tokyo", time_zone="Asia/Tokyo")
        assert lead_send_zone(LeadFactory(time_zone="America/Chicago", country="DE"), team) == "America/Chicago"
        assert lead_send_zone(LeadFactory(country="DE"), team) == "Europe/Berlin"
        assert lead_send_zone(LeadFactory(country="US"), team) == "Asia/Tokyo"  # several US clocks: no guess
        assert lead_send_zone(LeadFactory(country="US"), None) == "UTC"


class TestValidation:
    def errors(self, **fields) -> dict[str, list[str]]:
        with pytest.raises(ValidationError) as raised:
            step_of(**fields).clean()
        return raised.value.message_dict

    def test_a_negative_delay_is_a_field_error(self):
        assert "negative" in self.errors(delay_business_days=-1)["delay_business_days"][0]
        assert "negative" in self.errors(position=0, delay_minutes=-5)["delay_minutes"][0]

    def test_minutes_are_for_the_first_step_only(self):
        assert "first step" in self.errors(position=2, delay_minutes=10)["delay_minutes"][0]

    def test_an_empty_window_never_opens(self):
        assert "never opens" in self.errors(window_start=time(10), window_end=time(10))["window_end"][0]
        assert "never opens" in self.errors(window_start=time(17), window_end=time(9))["window_end"][0]
        assert "never opens" in self.errors(weekdays=[])["weekdays"][0]

    def test_an_unknown_variable_is_a_field_error(self):
        errors = self.errors(channel="email", subject="Hi {first_name}", body="About {pricing_tier} at {company}")
        assert "{pricing_tier}" in errors["body"][0] and "subject" not in errors

    def test_a_stray_brace_is_a_field_error(self):
        assert "brace" in self.errors(channel="email", subject="Hi {first_name", body="x")["subject"][0]

    def test_a_valid_email_step_passes(self):
        step_of(channel="email", subject="{first_name}, your {asset}", body="Hi {first_name}\n{rep_signature}").clean()

    def test_a_window_that_never_opens_cannot_be_scheduled(self):
        with pytest.raises(StepUnschedulable):
            step_due_at(step_of(window_start=time(10), window_end=time(10)), start=utc(2026, 2, 2), zone="UTC")
        with pytest.raises(StepUnschedulable):
            step_due_at(step_of(weekdays=[]), start=utc(2026, 2, 2), zone="UTC")

    def test_the_database_refuses_a_negative_delay_too(self):
        from django.db import IntegrityError

        template = SequenceTemplate.objects.create(name="t")
        with pytest.raises(IntegrityError):
            Step.objects.create(template=template, position=0, channel="call", delay_business_days=-2)
