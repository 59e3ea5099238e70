"""Deleting a step or an A/B variant from the managers' sequence page: only what no lead has run, the
positions closed up, refusals that say why and for how many leads with nothing changed, and every URL for
every role."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.test import Client
from django.utils import timezone

from sdr_desk.roles import Role
from sdr_desk.sequences.editing import DeleteRefused, step_delete, variant_delete
from sdr_desk.sequences.models import Enrollment, Outbox, Step, StepRun, StepVariant
from tests.desk_fixtures import team_make
from tests.factories import LeadFactory, UserFactory
from tests.sequences import test_manage
from tests.sequences.helpers import template_make
from tests.sequences.test_manage import EMAIL, positions, snapshot

pytestmark = pytest.mark.django_db

boss, made = test_manage.boss, test_manage.made  # the editor's fixtures: a signed-in manager, a sequence


def ran_for(step: Step, *, leads: int = 1, variant: StepVariant | None = None, enrolments_each: int = 1) -> None:
    """``leads`` leads, each enrolled ``enrolments_each`` times in the step's sequence, had a run of the step."""
    for _ in range(leads):
        lead = LeadFactory()
        for _ in range(enrolments_each):
            enrollment = Enrollment.objects.create(lead=lead, template=step.template, status="stopped")
            StepRun.objects.create(enrollment=enrollment, step=step, variant=variant, due_at=timezone.now(),
                                   status="done")


def page_after(client: Client, url: str) -> str:
    response = client.post(url, follow=True)
    assert response.redirect_chain[0][1] == 302
    return response.content.decode().replace("&#x27;", "'")


class TestDeletingAStep:
    def test_an_unused_step_is_deleted_and_the_steps_after_it_move_up(self, boss, client, made):
        sms = made["steps"][1]
        response = client.post(f"/sequences/steps/{sms.pk}/delete/")
        assert response.status_code == 302 and response["Location"] == f"/sequences/{made['template'].pk}/"
        assert positions(made["template"]) == [("call", 0), ("email", 1)]
        assert not Step.objects.filter(pk=sms.pk).exists()
        assert "Step 2 (SMS) deleted; the steps after it moved up." in client.get(response["Location"]).content.decode()

    def test_the_minutes_delayed_first_step_stays_first_when_a_later_one_goes(self, boss, client, made):
        client.post(f"/sequences/steps/{made['steps'][2].pk}/delete/")
        first = made["template"].steps.get(position=0)
        assert (first.channel, first.delay_minutes) == ("call", 0)
        assert positions(made["template"]) == [("call", 0), ("sms", 1)]

    def test_deleting_the_first_step_makes_the_next_one_first(self, boss, client, made):
        client.post(f"/sequences/steps/{made['steps'][0].pk}/delete/")
        assert positions(made["template"]) == [("sms", 0), ("email", 1)]
        for step in made["template"].steps.all():
            step.full_clean()  # every step left is still valid where it now stands

    def test_the_last_step_can_go_and_the_page_says_the_sequence_has_none(self, boss, client):
        template = template_make("One step")
        content = page_after(client, f"/sequences/steps/{template.steps.get().pk}/delete/")
        assert not template.steps.exists() and "No steps yet" in content
        assert "Step 1 (" in content and "deleted." in content and "moved up" not in content

    def test_a_step_that_ran_for_leads_is_kept_and_the_page_says_for_how_many_and_what_to_do(self, boss, client,
                                                                                            made):
        sms = made["steps"][1]
        ran_for(sms, leads=2)
        before = snapshot(), StepRun.objects.count()
        content = page_after(client, f"/sequences/steps/{sms.pk}/delete/")
        assert ("Step 2 (SMS) was not deleted: it has run for 2 leads, whose history points at it. To stop using it, "
                "deactivate this sequence and make a new one without it.") in content
        assert (snapshot(), StepRun.objects.count()) == before

    def test_a_lead_enrolled_twice_counts_once(self, boss, client, made):
        ran_for(made["steps"][1], leads=1, enrolments_each=2)
        assert "it has run for 1 lead," in page_after(client, f"/sequences/steps/{made['steps'][1].pk}/delete/")

    def test_an_email_in_the_outbox_keeps_its_step_even_without_a_run(self, boss, client, made):
        email = made["steps"][2]
        enrollment = Enrollment.objects.create(lead=LeadFactory(), template=made["template"], status="stopped")
        Outbox.objects.create(enrollment=enrollment, step=email, mailbox="ann@desk.example", to="x@acme.example",
                              subject="Hi", status="sent")
        content = page_after(client, f"/sequences/steps/{email.pk}/delete/")
        assert "Step 3 (Email) was not deleted: it has run for 1 lead" in content
        assert Step.objects.filter(pk=email.pk).exists() and Outbox.objects.count() == 1

    def test_a_step_with_an_unused_variant_goes_with_its_variant(self, boss, client, made):
        email = made["steps"][2]
        client.post(f"/sequences/steps/{email.pk}/delete/")
        assert not Step.objects.filter(pk=email.pk).exists()
        assert not StepVariant.objects.filter(pk=made["variant"].pk).exists()

    def test_the_admins_history_says_who_deleted_which_step(self, boss, client, made):
        client.post(f"/sequences/steps/{made['steps'][1].pk}/delete/")
        entry = LogEntry.objects.get()
        assert (entry.user, entry.action_flag, entry.object_id) == (boss, DELETION, str(made["steps"][1].pk))
        assert entry.change_message == "Step 2 (SMS) deleted from the sequence page"

    def test_the_services_take_keywords_only(self, boss, made):
        with pytest.raises(TypeError):
            step_delete(made["steps"][1], boss)  # type: ignore[misc]
        with pytest.raises(TypeError):
            variant_delete(made["variant"], boss)  # type: ignore[misc]


class TestDeletingAVariant:
    def test_an_unused_variant_is_deleted_and_the_one_left_goes_to_every_lead(self, boss, client, made):
        email, a = made["steps"][2], made["variant"]
        b = StepVariant.objects.create(step=email, label="B", subject="Hello", body="Hi")
        content = page_after(client, f"/sequences/variants/{a.pk}/delete/")
        assert list(email.variants.values_list("pk", flat=True)) == [b.pk]
        assert "Variant A of step 3 deleted: its one variant goes to every lead." in content

    def test_the_last_variant_goes_and_the_step_uses_its_own_valid_text_again(self, boss, client, made):
        email = made["steps"][2]
        content = page_after(client, f"/sequences/variants/{made['variant'].pk}/delete/")
        assert not email.variants.exists()
        email.refresh_from_db()
        email.full_clean()
        assert "Variant A of step 3 deleted: it uses its own text again." in content

    def test_the_last_variant_of_a_step_without_valid_text_of_its_own_is_kept(self, boss, client, made):
        email = made["steps"][2]
        Step.objects.filter(pk=email.pk).update(body="")  # as a row written outside the forms could be
        content = page_after(client, f"/sequences/variants/{made['variant'].pk}/delete/")
        assert "it is the step's last variant, and the step's own text" in content
        assert "An email step needs a body." in content and "Edit the step first." in content
        assert StepVariant.objects.filter(pk=made["variant"].pk).exists()

    def test_a_variant_a_lead_got_is_kept_and_the_page_says_how_many(self, boss, client, made):
        email, a = made["steps"][2], made["variant"]
        ran_for(email, leads=3, variant=a)
        before = snapshot()
        content = page_after(client, f"/sequences/variants/{a.pk}/delete/")
        assert ("Variant A of step 3 (Email) was not deleted: 3 leads got it, and their history and the A/B rates "
                "point at it. To stop using it, deactivate this sequence and make a new one.") in content
        assert snapshot() == before and StepRun.objects.filter(variant=a).count() == 3

    def test_a_variant_added_after_the_step_ran_that_nobody_got_can_go(self, boss, client, made):
        email, a = made["steps"][2], made["variant"]
        ran_for(email, leads=2, variant=a)
        b = StepVariant.objects.create(step=email, label="B", subject="Hello", body="Hi")
        client.post(f"/sequences/variants/{b.pk}/delete/")
        assert list(email.variants.values_list("label", flat=True)) == ["A"]

    def test_the_service_refuses_with_delete_refused(self, boss, made):
        ran_for(made["steps"][2], variant=made["variant"])
        with pytest.raises(DeleteRefused, match="1 lead got it"):
            variant_delete(variant=made["variant"], by=boss)


class TestThePage:
    def test_each_step_and_variant_has_a_delete_button_in_a_plain_post_form_with_a_confirmation(self, boss, client,
                                                                                                made):
        content = client.get(f"/sequences/{made['template'].pk}/").content.decode().replace("&#x27;", "'")
        for step in made["steps"]:
            assert f'<form method="post" action="/sequences/steps/{step.pk}/delete/"' in content
        assert f'<form method="post" action="/sequences/variants/{made["variant"].pk}/delete/"' in content
        assert 'hx-confirm="Delete step 2 (SMS)? A step that has run for a lead is kept."' in content
        assert 'hx-confirm="Delete variant A of step 3? A variant a lead already got is kept."' in content
        assert content.count('name="csrfmiddlewaretoken"') >= 5

    def test_a_post_without_the_csrf_token_is_refused_and_nothing_is_deleted(self, boss, made):
        client = Client(enforce_csrf_checks=True)
        client.force_login(boss)
        for url in (f"/sequences/steps/{made['steps'][1].pk}/delete/", f"/sequences/variants/{made['variant'].pk}/delete/"):
            before = snapshot()
            response = client.post(url)
            assert response.status_code == 403 and "403.html" in [t.name for t in response.templates]
            assert snapshot() == before

    def test_a_get_is_refused_with_a_405(self, boss, client, made):
        assert client.get(f"/sequences/steps/{made['steps'][1].pk}/delete/").status_code == 405
        assert client.get(f"/sequences/variants/{made['variant'].pk}/delete/").status_code == 405
        assert made["template"].steps.count() == 3 and StepVariant.objects.filter(pk=made["variant"].pk).exists()

    def test_an_unknown_step_or_variant_is_the_sites_404(self, boss, client):
        for url in ("/sequences/steps/999999/delete/", "/sequences/variants/999999/delete/"):
            response = client.post(url)
            assert response.status_code == 404 and "404.html" in [t.name for t in response.templates], url


# Who may delete: whoever may edit the sequence (editing.may_edit_sequence): its team's manager or an admin; a
# manager of another team may not.
ROLES = [("the manager", True), ("another team's manager", False), ("admin", True), (Role.SDR, False),
         (Role.AE, False), (Role.MARKETING, False), (None, False)]


@pytest.fixture
def owned():
    """A sequence of one team (managed by ``mine``), with a step and a variant to delete."""
    mine = UserFactory(username="mine", roles=[Role.MANAGER])
    theirs = UserFactory(username="theirs", roles=[Role.MANAGER])
    team = team_make("Americas", manager=mine)
    team_make("EMEA", is_default=False, manager=theirs)
    template = template_make("Americas: call first", team=team,
                             steps=[{"channel": "call", "delay_minutes": 0}, {"channel": "sms"}, EMAIL])
    email = template.steps.get(channel="email")
    variant = StepVariant.objects.create(step=email, label="A", subject="Hi", body="Hello")
    return {"template": template, "step": template.steps.get(channel="sms"), "variant": variant, "users": {
        "the manager": mine, "another team's manager": theirs}}


def delete_urls(owned) -> list[tuple[str, object]]:
    return [(f"/sequences/steps/{owned['step'].pk}/delete/", owned["step"]),
            (f"/sequences/variants/{owned['variant'].pk}/delete/", owned["variant"])]


@pytest.mark.parametrize("which", [0, 1], ids=["step", "variant"])
@pytest.mark.parametrize(("role", "allowed"), ROLES)
def test_every_delete_url_for_every_role(client, owned, role, allowed, which):
    if role in owned["users"]:
        user = owned["users"][role]
    elif role == "admin":
        user = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        user = UserFactory(username="someone", roles=[role] if role else [])
    client.force_login(user)
    url, row = delete_urls(owned)[which]
    before = snapshot()
    response = client.post(url)
    if allowed:
        assert response.status_code == 302 and response["Location"] == f"/sequences/{owned['template'].pk}/"
        assert not type(row).objects.filter(pk=row.pk).exists()
        # The same answer the page's other writes give this user for this sequence.
        assert client.post(f"/sequences/{owned['template'].pk}/active/", {"active": "1"}).status_code == 302
    else:
        assert response.status_code == 403 and "403.html" in [t.name for t in response.templates]
        assert snapshot() == before


def test_anonymous_users_are_sent_to_sign_in_and_nothing_is_deleted(client, owned):
    for url, _ in delete_urls(owned):
        before = snapshot()
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        assert snapshot() == before
