"""The desk's hand-on runs after the response is delivered, and a sweep catches what a crash dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from inbound.models import Lead
from sdr_desk.handon import HandOnMiddleware, after_response
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.tasks import handon_sweep
from tests.desk_fixtures import rep_make, team_make
from tests.factories import LeadFactory


# Closing a response sends request_finished, whose close_old_connections may ask the database for
# its state: these need the database although they never write to it (alone, they failed without).
@pytest.mark.django_db
def test_work_queued_in_a_request_waits_for_the_response_to_close():
    ran = []

    def view(request):
        after_response(lambda: ran.append("work"))
        assert ran == []
        return HttpResponse("ok")

    response = HandOnMiddleware(view)(RequestFactory().post("/api/v1/leads/"))
    assert ran == []
    response.close()
    assert ran == ["work"]


def test_outside_a_request_work_runs_at_once():
    ran = []
    after_response(lambda: ran.append("work"))
    assert ran == ["work"]


@pytest.mark.django_db
def test_one_failing_piece_does_not_stop_the_others():
    ran = []

    def view(request):
        after_response(lambda: 1 / 0)
        after_response(lambda: ran.append("second"))
        return HttpResponse("ok")

    HandOnMiddleware(view)(RequestFactory().get("/")).close()
    assert ran == ["second"]


@pytest.mark.django_db
def test_the_sweep_hands_on_leads_whose_hand_on_never_ran():
    rep = rep_make("ann", team_make("T", visibility="owned"))
    stranded = LeadFactory(created_at=timezone.now() - timedelta(minutes=5))
    fresh = LeadFactory()  # its hand-on may still be on the way
    assert handon_sweep(older_than_seconds=60) == 1
    assert LeadAssignment.objects.get(lead=stranded).owner == rep
    assert not LeadAssignment.objects.filter(lead=fresh).exists()
    assert Lead.objects.get(pk=stranded.pk).score is not None
    assert handon_sweep(older_than_seconds=60) == 0


@pytest.mark.django_db(transaction=True)  # intake hands the lead on after commit
def test_a_new_lead_judged_again_by_its_teams_own_criteria_is_offered_once(keyed):
    """The second look (the team's criteria) must not offer the lead a second time when it was hot already."""
    import json

    from inbound.models import TimelineEntry
    from scoring.models import HotLeadCriteria

    team = team_make("Claimers", visibility="claim")
    team.hot_criteria = HotLeadCriteria.objects.create(name="Demo requests", form_types=["demo_request"])
    team.save()
    rep_make("ann", team)
    response = keyed.post("/api/v1/leads/", data=json.dumps({"email": "a@corp.io", "form_type": "demo_request"}),
                          content_type="application/json")
    assert response.status_code == 201
    lead_id = response.json()["id"]
    offers = TimelineEntry.objects.filter(lead_id=lead_id, kind="owner").values_list("summary", flat=True)
    assert LeadAssignment.objects.get(lead_id=lead_id).state == "offered"
    assert len(offers) == 1, list(offers)
