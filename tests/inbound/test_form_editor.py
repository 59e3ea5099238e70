"""The hosted form editor at /forms/new/ and /forms/<id>/edit/: marketing and managers make forms without the admin."""

from __future__ import annotations

import pytest

from inbound.models import HostedForm
from sdr_desk.roles import Role
from tests.factories import HostedFormFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def valid(website, /, **changes) -> dict[str, object]:
    data = {"name": "Pricing page", "slug": "", "title": "Talk to us about pricing", "intro": "",
            "source": website.pk, "form_type": "pricing", "asset": "", "fields": ["company", "first_name"],
            "required_fields": ["first_name"], "progressive_fields": ["job_title"], "ask_consent": "on",
            "consent_text": "I agree to be contacted.", "submit_label": "Send", "thank_you_text": "Thanks!",
            "redirect_url": "", "is_active": "on"}
    return {**data, **changes}


@pytest.fixture
def website(db):
    return SourceFactory(name="Website")


class TestNewForm:
    @pytest.mark.parametrize("persona", ["marketing", "manager"])
    def test_the_forms_page_offers_a_new_form_button_to_who_may_make_one(self, as_user, request, persona):
        body = as_user(request.getfixturevalue(persona)).get("/forms/").content.decode()
        assert 'href="/forms/new/"' in body and ">New form</a>" in body

    @pytest.mark.parametrize("persona", ["marketing", "manager"])
    def test_marketing_and_managers_create_a_form_that_is_live_at_once(self, as_user, request, persona, website):
        client = as_user(request.getfixturevalue(persona))
        assert client.get("/forms/new/").status_code == 200
        response = client.post("/forms/new/", valid(website))
        assert response.status_code == 302 and response["Location"] == "/forms/"
        form = HostedForm.objects.get(slug="pricing-page")  # the address made from the name
        # Ticked fields keep the form's standard order (first name before company).
        assert form.fields == ["first_name", "company"] and form.required_fields == ["first_name"]
        assert form.progressive_fields == ["job_title"] and form.source == website and form.is_active
        assert client.get("/f/pricing-page/").status_code == 200
        assert "it is live at /f/pricing-page/" in client.get("/forms/").content.decode()

    def test_the_models_own_rules_refuse_a_required_field_the_form_does_not_ask(self, as_user, marketing, website):
        response = as_user(marketing).post("/forms/new/", valid(website, required_fields=["phone"]))
        assert response.status_code == 400
        assert "Required fields must be on the form: phone." in response.content.decode()
        assert not HostedForm.objects.exists()

    @pytest.mark.parametrize(("changes", "field", "message"), [
        ({"name": "", "title": ""}, "name", "This field is required."),
        ({"slug": "has spaces"}, "slug", "Enter a valid “slug”"),
        ({"fields": ["ssn"]}, "fields", "Select a valid choice. ssn is not one of the available choices."),
        ({"form_type": "nonsense"}, "form_type", "Select a valid choice."),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url", "Enter a valid URL."),
        ({"source": ""}, "source", "This field is required."),
    ])
    def test_bad_input_gets_a_field_error_and_stores_nothing(self, as_user, marketing, website, changes, field,
                                                             message):
        response = as_user(marketing).post("/forms/new/", valid(website, **changes))
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert not HostedForm.objects.exists()

    def test_an_address_already_taken_is_refused(self, as_user, marketing, website):
        HostedFormFactory(slug="pricing-page", source=website)
        response = as_user(marketing).post("/forms/new/", valid(website))
        assert response.status_code == 400 and "slug" in response.context["form"].errors
        assert HostedForm.objects.count() == 1

    def test_an_inactive_source_cannot_be_chosen(self, as_user, marketing, website):
        retired = SourceFactory(name="Retired", is_active=False)
        response = as_user(marketing).post("/forms/new/", valid(website, source=retired.pk))
        assert response.status_code == 400 and "source" in response.context["form"].errors

    def test_what_is_typed_is_escaped_when_shown_again(self, as_user, marketing, website):
        response = as_user(marketing).post("/forms/new/", valid(website, name="<script>x</script>", slug="bad slug"))
        assert "<script>x</script>" not in response.content.decode()

    @pytest.mark.parametrize("persona", ["sdr", "outsider"])
    def test_who_may_not_make_forms_gets_no_button_and_a_403(self, as_user, request, persona, website):
        client = as_user(request.getfixturevalue(persona))
        assert client.get("/forms/new/").status_code == 403
        assert client.post("/forms/new/", valid(website)).status_code == 403
        assert not HostedForm.objects.exists()

    def test_an_ae_may_not_either(self, as_user, website):
        client = as_user(UserFactory(username="ae", roles=[Role.AE]))
        assert client.post("/forms/new/", valid(website)).status_code == 403

    def test_sign_in_comes_first(self, client):
        assert client.get("/forms/new/")["Location"].startswith("/accounts/login/")


class TestEditForm:
    def test_marketing_edits_a_form_and_its_own_field_order_is_kept(self, as_user, marketing, website):
        form = HostedFormFactory(slug="demo", source=website, fields=["company", "first_name", "phone"],
                                 required_fields=["company"])
        client = as_user(marketing)
        assert client.get(f"/forms/{form.pk}/edit/").status_code == 200
        data = valid(website, name="Demo", slug="demo", fields=["first_name", "company", "country"],
                     required_fields=["company"], progressive_fields=[])
        assert client.post(f"/forms/{form.pk}/edit/", data).status_code == 302
        form.refresh_from_db()
        assert form.fields == ["company", "first_name", "country"] and form.name == "Demo"

    def test_an_sdr_may_not_edit(self, as_user, sdr, website):
        form = HostedFormFactory(source=website)
        assert as_user(sdr).post(f"/forms/{form.pk}/edit/", valid(website)).status_code == 403

    def test_a_missing_form_is_404(self, as_user, marketing):
        assert as_user(marketing).get("/forms/999999/edit/").status_code == 404
