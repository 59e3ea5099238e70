"""The manager's review: who sees which dispositions, the filters, changing and reopening one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inbound.models import Lead, LeadStatus, TimelineEntry
from sdr_desk.board.live import facts_of, section_for, viewer_for
from sdr_desk.dispositions.models import Disposition
from sdr_desk.dispositions.services import (
    AlreadyDispositioned,
    DispositionInvalid,
    disposition_change,
    disposition_reopen,
    lead_disposition,
)
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState, Team
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def worked_and_closed(team_rep, *, code="no-response", reason="", touches=1):
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=team_rep)
    for _ in range(touches):
        touch_log(lead.pk, rep=team_rep, channel="call", outcome="no_answer")
    return lead_disposition(lead.pk, user=team_rep, code=code, reason=reason)


@pytest.fixture
def desk():
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    other_boss = UserFactory(username="other-boss", roles=[Role.MANAGER])
    americas = team_make("Americas", manager=boss)
    emea = team_make("EMEA", is_default=False, manager=other_boss)
    ann, eve = rep_make("ann", americas), rep_make("eve", emea)
    mine = worked_and_closed(ann, touches=3)
    # The next lead goes to EMEA: make it the default team while it is routed.
    Team.objects.filter(pk=americas.pk).update(is_default=False)
    Team.objects.filter(pk=emea.pk).update(is_default=True)
    theirs = worked_and_closed(eve, code="bad-fit", reason="Student")
    Team.objects.filter(pk=emea.pk).update(is_default=False)
    Team.objects.filter(pk=americas.pk).update(is_default=True)
    return {"boss": boss, "other_boss": other_boss, "ann": ann, "eve": eve, "americas": americas, "emea": emea,
            "mine": mine, "theirs": theirs}


class TestPage:
    def test_a_manager_sees_their_teams_dispositions_with_the_touches_behind_each(self, client, desk):
        client.force_login(desk["boss"])
        response = client.get(reverse("disposition-review"))
        assert response.status_code == 200
        rows = list(response.context["page"])
        assert [d.pk for d in rows] == [desk["mine"].pk]
        assert rows[0].touch_count == 3

    def test_it_answers_in_a_fixed_number_of_queries(self, client, desk):
        client.force_login(desk["boss"])
        client.get(reverse("disposition-review"))
        for _ in range(5):
            worked_and_closed(desk["ann"])
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("disposition-review"))
        for _ in range(10):
            worked_and_closed(desk["ann"])
        with CaptureQueriesContext(connection) as many:
            assert len(client.get(reverse("disposition-review")).context["page"]) == 16
        assert len(many) == len(few), [q["sql"] for q in many]

    def test_filters_stay_in_the_url_and_narrow_the_list(self, client, desk):
        client.force_login(desk["boss"])
        worked_and_closed(desk["ann"], code="bad-fit", reason="Too small")
        response = client.get(reverse("disposition-review"), {"code": desk["theirs"].code_id})
        assert [d.code.slug for d in response.context["page"]] == ["bad-fit"]
        tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
        assert len(client.get(reverse("disposition-review"), {"since": tomorrow}).context["page"]) == 0
        assert f"code={desk['theirs'].code_id}" in response.context["params"]

    def test_bad_filters_answer_400_with_the_error(self, client, desk):
        client.force_login(desk["boss"])
        response = client.get(reverse("disposition-review"), {"since": "2026-12-10", "until": "2026-12-01"})
        assert response.status_code == 400 and b"The end comes before the start." in response.content
        response = client.get(reverse("disposition-review"), {"team": desk["emea"].pk})  # not theirs to pick
        assert response.status_code == 400

    @pytest.mark.parametrize("role", [Role.SDR, Role.AE, Role.MARKETING])
    def test_nobody_but_managers_may_open_it(self, client, desk, role):
        client.force_login(UserFactory(username=f"u-{role}", roles=[role]))
        assert client.get(reverse("disposition-review")).status_code == 403

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, desk):
        assert client.get(reverse("disposition-review")).status_code == 302


class TestChange:
    def test_the_manager_changes_it_and_the_old_one_is_kept_as_history(self, desk):
        new = disposition_change(desk["mine"].pk, user=desk["boss"], code="not-ready-nurture",
                                 reason="Researching only", reengage_on=timezone.localdate() + timedelta(days=30),
                                 why="They replied to the last email")
        desk["mine"].refresh_from_db()
        assert desk["mine"].is_current is False and new.is_current and new.rep == desk["ann"]
        assert Lead.objects.get(pk=new.lead_id).status == LeadStatus.NURTURE
        entry = TimelineEntry.objects.filter(lead_id=new.lead_id, kind="disposition").first()
        assert entry.summary.startswith("Disposition changed: No response → Not ready - nurture")
        assert entry.actor == desk["boss"] and entry.data["before"]["code"] == "no-response"

    def test_it_needs_a_why_and_valid_fields_and_changes_nothing_otherwise(self, desk):
        with pytest.raises(DispositionInvalid) as refused:
            disposition_change(desk["mine"].pk, user=desk["boss"], code="bad-fit", reason="", why="")
        assert set(refused.value.errors) == {"reason", "why"}
        assert Disposition.objects.get(pk=desk["mine"].pk).is_current

    def test_another_teams_manager_and_the_rep_may_not(self, desk):
        for user in (desk["other_boss"], desk["ann"]):
            with pytest.raises(NotAllowed):
                disposition_change(desk["mine"].pk, user=user, code="duplicate", why="tidy up")
        assert Disposition.objects.filter(lead_id=desk["mine"].lead_id).count() == 1

    def test_the_page_posts_it_and_shows_what_went_wrong(self, client, desk):
        client.force_login(desk["boss"])
        url = reverse("disposition-change", args=[desk["mine"].pk])
        response = client.post(url, {"code": "bad-fit", "reason": "Too small", "why": ""}, follow=True)
        assert b"Say why" in response.content
        response = client.post(url, {"code": "duplicate", "why": "Same person as lead 12"}, follow=True)
        assert b"merge it from the lead page" in response.content  # a duplicate is merged, not labelled
        response = client.post(url, {"code": "bad-fit", "reason": "Too small", "why": "Ten people"}, follow=True)
        assert b"Disposition changed" in response.content
        assert client.post(reverse("disposition-change", args=[desk["theirs"].pk]),
                           {"code": "bad-fit", "reason": "Too small", "why": "x"}).status_code == 403


class TestReopen:
    def test_reopening_gives_the_lead_back_to_its_rep_on_their_board(self, desk):
        disposition_reopen(desk["mine"].pk, user=desk["boss"], why="They asked for pricing on the phone")
        assignment = LeadAssignment.objects.get(lead_id=desk["mine"].lead_id)
        assert (assignment.state, assignment.owner) == (LeadState.WORKING, desk["ann"])
        assert section_for(viewer_for(desk["ann"]), facts_of(assignment)) is not None
        desk["mine"].refresh_from_db()
        assert desk["mine"].is_current is False
        assert Lead.objects.get(pk=desk["mine"].lead_id).status == LeadStatus.NEW
        assert TimelineEntry.objects.filter(lead_id=desk["mine"].lead_id, kind="disposition",
                                            summary__startswith="Disposition reopened: No response").exists()

    def test_a_reopened_disposition_cannot_be_reopened_or_changed_again(self, desk):
        disposition_reopen(desk["mine"].pk, user=desk["boss"], why="Try again")
        with pytest.raises(AlreadyDispositioned):
            disposition_reopen(desk["mine"].pk, user=desk["boss"], why="Twice")
        with pytest.raises(AlreadyDispositioned):
            disposition_change(desk["mine"].pk, user=desk["boss"], code="duplicate", why="Late")

    def test_the_page_reopens_and_refuses_what_is_not_theirs(self, client, desk):
        client.force_login(desk["boss"])
        response = client.post(reverse("disposition-reopen", args=[desk["mine"].pk]),
                               {"why": "Back to work", "next": "https://evil.example/"})
        assert response.status_code == 302 and response["Location"] == reverse("disposition-review")
        assert client.post(reverse("disposition-reopen", args=[desk["theirs"].pk]),
                           {"why": "x"}).status_code == 403
        assert client.get(reverse("disposition-reopen", args=[desk["mine"].pk])).status_code == 405


class TestRowActions:
    """The change and reopen forms come with a row when asked for (htmx), or as a page without JavaScript."""

    def test_the_page_renders_no_forms_only_a_link_to_them(self, client, desk):
        client.force_login(desk["boss"])
        page = client.get(reverse("disposition-review")).content.decode()
        actions = reverse("disposition-actions", args=[desk["mine"].pk])
        assert reverse("disposition-change", args=[desk["mine"].pk]) not in page
        assert f'href="{actions}?next=' in page and f'hx-get="{actions}?next=' in page
        assert 'hx-target="closest td"' in page

    def test_htmx_gets_the_fragment_with_both_forms(self, client, desk):
        client.force_login(desk["boss"])
        response = client.get(reverse("disposition-actions", args=[desk["mine"].pk]), {"next": "/dispositions/?page=2"},
                              headers={"HX-Request": "true"})
        body = response.content.decode()
        assert response.status_code == 200 and "<html" not in body
        assert reverse("disposition-change", args=[desk["mine"].pk]) in body
        assert reverse("disposition-reopen", args=[desk["mine"].pk]) in body
        assert 'value="/dispositions/?page=2"' in body and "csrfmiddlewaretoken" in body
        assert 'value="bad-fit"' in body  # every active code to change to

    def test_without_javascript_it_is_a_page_whose_forms_post_back_to_the_review(self, client, desk):
        client.force_login(desk["boss"])
        response = client.get(reverse("disposition-actions", args=[desk["mine"].pk]), {"next": "https://evil.example/"})
        body = response.content.decode()
        assert response.status_code == 200 and "<html" in body and "Change or reopen" in body
        assert 'value="/dispositions/"' in body and "evil.example" not in body
        done = client.post(reverse("disposition-reopen", args=[desk["mine"].pk]), {"why": "Back", "next": "/dispositions/"})
        assert done.status_code == 302 and done["Location"] == "/dispositions/"

    def test_a_history_row_says_it_cannot_be_changed(self, client, desk):
        disposition_reopen(desk["mine"].pk, user=desk["boss"], why="Try again")
        client.force_login(desk["boss"])
        response = client.get(reverse("disposition-actions", args=[desk["mine"].pk]), headers={"HX-Request": "true"})
        assert response.status_code == 200 and b"This disposition is history" in response.content
        assert reverse("disposition-change", args=[desk["mine"].pk]).encode() not in response.content

    def test_it_answers_in_a_fixed_number_of_queries(self, client, desk, django_assert_max_num_queries):
        client.force_login(desk["boss"])
        url = reverse("disposition-actions", args=[desk["mine"].pk])
        client.get(url, headers={"HX-Request": "true"})
        with django_assert_max_num_queries(8):
            client.get(url, headers={"HX-Request": "true"})

    @pytest.mark.parametrize("who", ["other_boss", "ann", "sdr", "ae", "marketing", "anonymous", "boss"])
    def test_only_the_teams_manager_may_open_it(self, client, desk, who):
        users = {"sdr": (Role.SDR,), "ae": (Role.AE,), "marketing": (Role.MARKETING,)}
        if who in users:
            client.force_login(UserFactory(username=f"u-{who}", roles=list(users[who])))
        elif who != "anonymous":
            client.force_login(desk[who])
        response = client.get(reverse("disposition-actions", args=[desk["mine"].pk]), headers={"HX-Request": "true"})
        expected = {"boss": 200, "anonymous": 302}.get(who, 403)
        assert response.status_code == expected
        if expected == 403:
            assert b"disposition-change" not in response.content and b'name="why"' not in response.content

    def test_an_unknown_disposition_is_404_and_a_post_405(self, client, desk):
        client.force_login(desk["boss"])
        assert client.get(reverse("disposition-actions", args=[999_999])).status_code == 404
        assert client.post(reverse("disposition-actions", args=[desk["mine"].pk])).status_code == 405
        assert Disposition.objects.get(pk=desk["mine"].pk).is_current


class TestNoDuplicateWithoutAMerge:
    def test_a_manager_cannot_change_a_disposition_to_duplicate(self, db):
        from sdr_desk.dispositions.models import Disposition
        from sdr_desk.dispositions.services import DispositionInvalid, disposition_change, lead_disposition
        from sdr_desk.roles import Role
        from sdr_desk.routing.engine import lead_route
        from sdr_desk.routing.ownership import lead_claim
        from sdr_desk.routing.touches import touch_log
        from tests.desk_fixtures import hot_lead, rep_make, team_make
        from tests.factories import UserFactory

        boss = UserFactory(username="boss2", roles=[Role.MANAGER])
        team = team_make("Reviewed", manager=boss)
        ann = rep_make("ann2", team)
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        touch_log(lead.pk, rep=ann, channel="call", outcome="no_answer")
        first = lead_disposition(lead.pk, user=ann, code="no-response", reason="Sequence ended without a reply")
        with pytest.raises(DispositionInvalid) as refused:
            disposition_change(first.pk, user=boss, code="duplicate", why="looks like a dupe")
        assert "code" in refused.value.errors
        assert Disposition.objects.get(lead=lead, is_current=True).pk == first.pk  # nothing changed
