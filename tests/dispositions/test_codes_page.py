"""The codes page: managers keep the list of disposition codes (add, edit, reorder, deactivate)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sdr_desk.dispositions.models import DispositionCode
from sdr_desk.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/dispositions/codes/"
NEW = {"name": "Wrong person", "slug": "wrong-person", "outcome": "disqualified", "reason_required": "on",
       "reasons": "Left the company\nNo authority\n", "requires_answers": ""}


@pytest.fixture
def boss(client):
    user = UserFactory(username="boss", roles=[Role.MANAGER])
    client.force_login(user)
    return client


def api_codes(user=None) -> list[dict]:
    client = APIClient()
    client.force_login(user or UserFactory(username="sdr-reader", roles=[Role.SDR]))
    response = client.get("/api/v1/disposition-codes/")
    assert response.status_code == 200
    return response.json()


def slugs_in_order() -> list[str]:
    return list(DispositionCode.objects.order_by("position", "name").values_list("slug", flat=True))


class TestPermissions:
    @pytest.mark.parametrize("role", [Role.SDR, Role.AE, Role.MARKETING])
    def test_other_roles_are_refused(self, client, role):
        client.force_login(UserFactory(username=f"u-{role}", roles=[role]))
        code = DispositionCode.objects.first()
        assert client.get(URL).status_code == 403
        assert client.post(URL, NEW).status_code == 403
        assert client.get(reverse("disposition-code-edit", args=[code.pk])).status_code == 403
        assert client.post(reverse("disposition-code-action", args=[code.pk]), {"action": "deactivate"}).status_code == 403
        assert not DispositionCode.objects.filter(slug="wrong-person").exists()
        assert DispositionCode.objects.get(pk=code.pk).is_active

    def test_a_manager_sees_every_code_in_order(self, boss):
        DispositionCode.objects.filter(slug="bad-fit").update(is_active=False)
        response = boss.get(URL)
        assert response.status_code == 200
        page = response.content.decode()
        positions = [page.index(f'data-code="{slug}"') for slug in slugs_in_order()]
        assert positions == sorted(positions)
        assert "Too small" in page and "Inactive" in page

    def test_anonymous_goes_to_sign_in(self, client):
        response = client.get(URL)
        assert response.status_code == 302 and "login" in response["Location"]

    def test_the_review_page_links_it_for_managers(self, boss):
        assert URL in boss.get(reverse("disposition-review")).content.decode()


class TestChanges:
    def test_a_manager_adds_a_code_at_the_end(self, boss):
        response = boss.post(URL, NEW)
        assert response.status_code == 302
        code = DispositionCode.objects.get(slug="wrong-person")
        assert code.reasons == ["Left the company", "No authority"] and code.reason_required
        assert slugs_in_order()[-1] == "wrong-person"
        added = next(c for c in api_codes() if c["slug"] == "wrong-person")
        assert added["outcome"] == "disqualified" and added["reasons"] == ["Left the company", "No authority"]

    def test_a_manager_edits_a_code_but_not_its_slug(self, boss):
        code = DispositionCode.objects.get(slug="bad-fit")
        page = boss.get(reverse("disposition-code-edit", args=[code.pk])).content.decode()
        assert "Too small\nWrong industry" in page
        response = boss.post(reverse("disposition-code-edit", args=[code.pk]), {
            "name": "Not a fit", "slug": "changed", "outcome": "disqualified", "reason_required": "on",
            "reasons": "Too small\nCompetitor", "requires_answers": ""})
        assert response.status_code == 302
        code.refresh_from_db()
        assert (code.name, code.slug, code.reasons) == ("Not a fit", "bad-fit", ["Too small", "Competitor"])
        assert next(c for c in api_codes() if c["slug"] == "bad-fit")["name"] == "Not a fit"

    def test_up_and_down_reorder(self, boss):
        before = slugs_in_order()
        second = DispositionCode.objects.get(slug=before[1])
        boss.post(reverse("disposition-code-action", args=[second.pk]), {"action": "up"})
        assert slugs_in_order()[:2] == [before[1], before[0]]
        boss.post(reverse("disposition-code-action", args=[second.pk]), {"action": "down"})
        assert slugs_in_order() == before
        last = DispositionCode.objects.get(slug=before[-1])
        boss.post(reverse("disposition-code-action", args=[last.pk]), {"action": "down"})  # already last
        assert slugs_in_order() == before
        assert [c["slug"] for c in api_codes()] == before

    def test_deactivate_and_reactivate(self, boss):
        code = DispositionCode.objects.get(slug="no-response")
        boss.post(reverse("disposition-code-action", args=[code.pk]), {"action": "deactivate"})
        assert not DispositionCode.objects.get(pk=code.pk).is_active
        assert "no-response" not in [c["slug"] for c in api_codes()]
        assert 'data-code="no-response"' in boss.get(URL).content.decode()  # still listed, inactive
        boss.post(reverse("disposition-code-action", args=[code.pk]), {"action": "reactivate"})
        assert "no-response" in [c["slug"] for c in api_codes()]

    def test_an_unknown_action_is_400(self, boss):
        code = DispositionCode.objects.first()
        response = boss.post(reverse("disposition-code-action", args=[code.pk]), {"action": "delete"})
        assert response.status_code == 400 and DispositionCode.objects.filter(pk=code.pk).exists()


class TestInvalid:
    @pytest.mark.parametrize("change, field, message", [
        ({"name": "Bad fit"}, "name", "already exists"),
        ({"slug": "bad-fit"}, "slug", "already exists"),
        ({"reasons": "Left the company\n\nNo authority"}, "reasons", "remove the empty line"),
        ({"reasons": "x" * 201}, "reasons", "at most 200 characters"),
        ({"reasons": "Same\nsame"}, "reasons", "Each reason once"),
        ({"outcome": "maybe"}, "outcome", "valid choice"),
        ({"name": ""}, "name", "required"),
    ])
    def test_bad_input_is_400_with_the_error_and_nothing_saved(self, boss, change, field, message):
        count = DispositionCode.objects.count()
        response = boss.post(URL, {**NEW, **change})
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert field in errors and message.lower() in " ".join(errors[field]).lower(), errors
        assert message.lower() in response.content.decode().lower().replace("&#x27;", "'")
        assert DispositionCode.objects.count() == count

    def test_a_bad_edit_is_400_and_changes_nothing(self, boss):
        code = DispositionCode.objects.get(slug="bad-fit")
        response = boss.post(reverse("disposition-code-edit", args=[code.pk]), {
            "name": "Duplicate", "outcome": "disqualified", "reasons": "Too small"})
        assert response.status_code == 400 and "name" in response.context["form"].errors
        code.refresh_from_db()
        assert code.name == "Bad fit" and len(code.reasons) == 6
