"""Every figure of the reports against the one worked out by hand on the fixture (tests/reports/conftest.py)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from sdr_desk.reports import selectors as s
from sdr_desk.reports.models import LeadFact
from tests.reports.fixtures import ET, lead_arrive, utc

pytestmark = pytest.mark.django_db

NOVEMBER = s.Window(since=date(2026, 11, 1), until=date(2026, 11, 30), zone=ZoneInfo(ET))
H = 3600


def americas(desk):
    return s.facts_filter(LeadFact.objects.all(), window=NOVEMBER, team_id=desk.team.pk)


class TestTheFacts:
    def test_each_lead_has_its_response_split_at_the_offer_in_wall_and_business_time(self, desk):
        a4 = LeadFact.objects.get(lead=desk.leads["a4"])
        assert (a4.system_seconds, a4.system_business_seconds) == (45 * H, 0)  # queued over the weekend
        assert (a4.human_seconds, a4.human_business_seconds) == (1800, 1800)
        assert a4.after_hours and a4.arrival_hour == 12 and a4.bucket == "gt24h" and a4.sla_met
        a3 = LeadFact.objects.get(lead=desk.leads["a3"])
        assert (a3.response_seconds, a3.response_business_seconds, a3.system_seconds) == (66 * H, 2 * H, 0)
        assert a3.human_business_seconds == 2 * H and a3.escalated and not a3.after_hours
        assert a3.arrival_hour == 16

    def test_a_lead_never_touched_is_in_never_and_misses_its_target(self, desk):
        a5 = LeadFact.objects.get(lead=desk.leads["a5"])
        assert a5.bucket == "never" and a5.response_seconds is None and a5.sla_met is False
        assert a5.rep_id == desk.bob.pk and a5.touches == 0 and a5.attempts_to_connect is None

    def test_working_and_ending_the_lead(self, desk):
        a1 = LeadFact.objects.get(lead=desk.leads["a1"])
        assert (a1.touches, a1.connected, a1.attempts_to_connect) == (2, True, 2)
        assert a1.qualified and a1.handed_off and a1.ae_accepted and a1.meeting_held and not a1.ae_rejected
        a3 = LeadFact.objects.get(lead=desk.leads["a3"])
        assert a3.ae_rejected and a3.rejection_reason == "Bad timing" and not a3.ae_accepted
        a2 = LeadFact.objects.get(lead=desk.leads["a2"])
        assert (a2.outcome, a2.disposition_reason, a2.qualified) == ("disqualified", "Too small", False)

    def test_first_and_last_touch_attribution_over_the_conversions(self, desk):
        a1 = LeadFact.objects.get(lead=desk.leads["a1"])
        assert (a1.first_source_id, a1.first_campaign) == (desk.web.pk, "spring")
        assert (a1.last_source_id, a1.last_campaign, a1.conversions) == (desk.g2.pk, "retarget", 2)


class TestSpeedToLead:
    def test_the_summary_by_hand(self, desk):
        everything, in_hours, after = s.speed_summary(americas(desk))
        assert (everything["leads"], everything["touched"], everything["never"]) == (6, 5, 1)
        # Touched: 180, 180, 600, 163800, 237600 s.
        assert everything["response_seconds_p50"] == pytest.approx(600)
        assert everything["response_seconds_p90"] == pytest.approx(163800 + 0.6 * (237600 - 163800))
        assert everything["response_seconds_p95"] == pytest.approx(163800 + 0.8 * (237600 - 163800))
        assert everything["response_mean"] == pytest.approx((180 + 180 + 600 + 163800 + 237600) / 5)
        assert everything["response_business_seconds_p50"] == pytest.approx(600)  # 180, 180, 600, 1800, 7200
        assert (everything["sla_met"], everything["with_sla"], everything["sla_rate"]) == (3, 6, 0.5)
        assert everything["escalated"] == 1 and everything["arrived_after_hours"] == 1
        assert (in_hours["leads"], after["leads"]) == (5, 1)
        assert after["response_seconds_p50"] == pytest.approx(163800)

    def test_by_rep(self, desk):
        rows = {row["label"]: row for row in s.speed_by(americas(desk), "rep")}
        assert set(rows) == {"Ann", "Bob"}
        assert (rows["Ann"]["leads"], rows["Ann"]["touched"]) == (4, 4)
        assert rows["Ann"]["response_seconds_p50"] == pytest.approx((600 + 163800) / 2)
        assert (rows["Bob"]["leads"], rows["Bob"]["never"], rows["Bob"]["response_seconds_p50"]) == (2, 1, 180)
        assert rows["Bob"]["drill"] == {"rep": str(desk.bob.pk)}

    def test_by_hour_of_arrival_in_the_teams_zone(self, desk):
        rows = {row["arrival_hour"]: row["leads"] for row in s.speed_by(americas(desk), "hour")}
        assert rows == {10: 1, 11: 1, 12: 2, 13: 1, 16: 1}

    def test_by_source_and_tier(self, desk):
        sources = {row["label"]: row["leads"] for row in s.speed_by(americas(desk), "source")}
        assert sources == {"Website": 5, "G2 Reviews": 1}
        tiers = {row["tier"]: row["leads"] for row in s.speed_by(americas(desk), "tier")}
        assert tiers == {"hand_raiser": 5, "researcher": 1}

    def test_every_bucket_is_shown_empty_ones_too_with_their_outcomes(self, desk):
        rows = {row["bucket"]: row for row in s.bucket_outcomes(americas(desk))}
        assert [rows[b]["leads"] for b in ("lt5m", "5-30m", "30-60m", "1-24h", "gt24h", "never")] == [2, 1, 0, 0, 2, 1]
        assert rows["lt5m"]["connect_rate"] == 0.5 and rows["lt5m"]["qualified_rate"] == 0.5
        assert rows["lt5m"]["accept_rate"] == 1.0 and rows["gt24h"]["accept_rate"] == 0.0
        assert rows["30-60m"]["connect_rate"] is None and rows["never"]["accept_rate"] is None

    def test_the_series_by_day_of_arrival(self, desk):
        series = {row["day"]: row for row in s.response_series(americas(desk), ZoneInfo(ET))}
        assert series[date(2026, 11, 2)]["leads"] == 4
        assert series[date(2026, 11, 2)]["p50"] == pytest.approx(180)  # 180, 600, 180 (a5 never)
        assert series[date(2026, 11, 7)]["p50"] == pytest.approx(163800)

    def test_the_date_range_is_the_viewers_days(self, desk):
        late = lead_arrive(desk, "late", arrived=utc(2026, 11, 3, 2, 0), owner=desk.ann)  # Nov 2, 21:00 in New York
        from sdr_desk.reports.rollups import facts_write
        facts_write([late.pk])
        in_new_york = s.Window(since=date(2026, 11, 2), until=date(2026, 11, 2), zone=ZoneInfo(ET))
        in_utc = s.Window(since=date(2026, 11, 2), until=date(2026, 11, 2), zone=ZoneInfo("UTC"))
        assert s.facts_filter(LeadFact.objects.all(), window=in_new_york).filter(lead=late).exists()
        assert not s.facts_filter(LeadFact.objects.all(), window=in_utc).filter(lead=late).exists()


class TestFunnelAndHandoff:
    def test_funnel_by_source(self, desk):
        rows = {row["label"]: row for row in s.funnel_by(americas(desk), "source")}
        web, g2 = rows["Website"], rows["G2 Reviews"]
        assert [web[k] for k in ("leads", "contacted", "qualified", "handed_off", "accepted", "held")] == [5, 4, 1, 1, 1, 1]
        assert [g2[k] for k in ("leads", "contacted", "qualified", "handed_off", "accepted", "rejected")] == [1, 1, 1, 1, 0, 1]
        assert web["disqualified"] == 1 and g2["accept_rate"] == 0.0

    def test_funnel_by_campaign_names_the_leads_without_one(self, desk):
        rows = {row["label"]: row["leads"] for row in s.funnel_by(americas(desk), "campaign")}
        assert rows == {"spring": 2, "No campaign": 4}

    def test_reasons(self, desk):
        reasons = {(row["label"], row["disposition_reason"]): row["leads"] for row in s.reasons(americas(desk))}
        assert reasons == {("Qualified - meeting set", ""): 1, ("Bad fit", "Too small"): 1,
                           ("Qualified - handed to AE", ""): 1}
        assert [(r["source_label"], r["label"], r["leads"]) for r in s.rejection_reasons(americas(desk), by_source=True)] \
            == [("G2 Reviews", "Bad timing", 1)]
        assert [(r["source_label"], r["label"]) for r in s.bad_fit_reasons(americas(desk))] == [("Website", "Too small")]

    def test_attribution_of_qualified_leads(self, desk):
        qualified = americas(desk).filter(qualified=True)
        first = {row["label"]: row["qualified"] for row in s.funnel_by(qualified, "source", prefix="first_")}
        last = {row["label"]: row["qualified"] for row in s.funnel_by(qualified, "source", prefix="last_")}
        assert first == {"Website": 1, "G2 Reviews": 1} and last == {"G2 Reviews": 2}
        campaigns = {row["label"]: row["qualified"] for row in s.funnel_by(qualified, "campaign", prefix="last_")}
        assert campaigns == {"retarget": 1, "No campaign": 1}


class TestCoaching:
    def test_per_rep(self, desk):
        rows = {row["label"]: row for row in s.coaching(americas(desk))}
        ann = rows["Ann"]
        assert (ann["leads"], ann["contacted"], ann["touch_total"], ann["touches_per_lead"]) == (4, 4, 5, 1.25)
        assert (ann["connected"], ann["connect_rate"], ann["attempts_mean"]) == (1, 0.25, 2.0)
        assert (ann["handed_off"], ann["held"], ann["no_show"], ann["no_show_rate"], ann["escalated"]) == (2, 1, 0, 0.0, 1)
        assert rows["Bob"]["touches_per_lead"] == 1.0 and rows["Bob"]["connect_rate"] == 0.0


class TestThePercentileInPython:
    """The embedded SQLite default computes percentiles in Python: the same numbers as percentile_cont."""

    @pytest.mark.parametrize("values", [[5.0], [1.0, 2.0], [180.0, 180.0, 600.0, 163800.0, 237600.0],
                                        [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]])
    def test_it_agrees_with_postgres(self, values):
        from django.db import connection

        with connection.cursor() as cursor:
            for fraction in (0.5, 0.9, 0.95):
                cursor.execute("SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY v) FROM unnest(%s::float8[]) v",
                               [fraction, values])
                assert s.percentile_of(values, fraction) == pytest.approx(cursor.fetchone()[0])

    def test_no_values_no_percentile(self):
        assert s.percentile_of([], 0.5) is None

    def test_the_python_path_gives_the_page_the_same_rows(self, desk, monkeypatch):
        on_postgres = s.speed_by(americas(desk), "rep")
        monkeypatch.setattr(s.connection, "vendor", "sqlite")
        in_python = s.speed_by(americas(desk), "rep")
        for pg, py in zip(on_postgres, in_python, strict=True):
            for key in ("response_seconds_p50", "response_seconds_p90", "human_seconds_p50"):
                assert pg[key] == pytest.approx(py[key]) if pg[key] is not None else py[key] is None


class TestAgainstThePlainQuery:
    """The figures from the facts agree with a plain query over the raw rows."""

    def test_p50_and_counts_agree_with_the_assignments(self, desk):
        from django.db import connection

        from sdr_desk.routing.models import LeadAssignment

        with connection.cursor() as cursor:
            cursor.execute(f"""
                SELECT count(*), count(first_touch_at),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds),
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY response_business_seconds)
                FROM {LeadAssignment._meta.db_table} WHERE team_id = %s""", [desk.team.pk])
            leads, touched, p50, business_p90 = cursor.fetchone()
        summary = s.speed_summary(americas(desk))[0]
        assert (summary["leads"], summary["touched"]) == (leads, touched)
        assert summary["response_seconds_p50"] == pytest.approx(p50)
        assert summary["response_business_seconds_p90"] == pytest.approx(business_p90)


class TestTheClaim:
    def test_qualification_within_5_minutes_against_after_30(self, desk):
        claim = s.speed_claim(s.bucket_outcomes(americas(desk)))
        # Within 5 min: a1 (qualified), a6; after 30 min: a3 (qualified), a4.
        assert (claim["fast_leads"], claim["slow_leads"], claim["fast_rate"], claim["slow_rate"]) == (2, 2, 0.5, 0.5)
        assert claim["ratio"] == 1.0 and claim["fast_share"] == pytest.approx(2 / 6)

    def test_no_claim_without_both_sides(self, desk):
        assert s.speed_claim(s.bucket_outcomes(americas(desk).filter(bucket="lt5m"))) is None
