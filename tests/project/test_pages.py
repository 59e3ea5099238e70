"""Staff pages: sign-in, the leads list, the lead page, the admin, the API docs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound.models import Lead, LeadStatus
from sdr_desk.roles import Role, role_permissions
from tests.factories import LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


class TestSignIn:
    def test_every_page_needs_a_signed_in_user(self, client):
        for url in ["/", "/leads/", "/leads/1/", "/api/docs/", "/admin/"]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert "/login/" in response["Location"], url
        assert client.get("/api/schema/").status_code in (401, 403)

    def test_a_user_signs_in_and_out(self, client, sdr):
        response = client.post("/accounts/login/", {"username": "sdr", "password": "pw"})
        assert response.status_code == 302
        assert client.get("/leads/").status_code == 200
        client.post("/accounts/logout/")
        assert client.get("/leads/").status_code == 302

    def test_a_wrong_password_is_refused_with_a_message(self, client, sdr):
        response = client.post("/accounts/login/", {"username": "sdr", "password": "nope"})
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content

    def test_sign_in_needs_the_csrf_token(self, sdr):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        response = strict.post("/accounts/login/", {"username": "sdr", "password": "pw"})
        assert response.status_code == 403


class TestRoles:
    def test_every_role_exists_with_its_permissions(self):
        for role in [Role.SDR, Role.AE, Role.MANAGER, Role.MARKETING, Role.ADMIN]:
            group = Group.objects.get(name=role)
            assert group.permissions.exists()
        sdr_codes = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=Role.SDR).permissions.all()}
        assert sdr_codes == set(role_permissions()[Role.SDR])
        assert not Group.objects.get(name=Role.SDR).permissions.filter(codename="add_importjob").exists()
        assert Group.objects.get(name=Role.MANAGER).permissions.filter(codename="add_importjob").exists()


class TestLeadList:
    def test_it_lists_leads_newest_first(self, as_user, sdr):
        LeadFactory(email="old@a.io")
        LeadFactory(email="new@b.io", first_name="Newest", last_name="Lead")
        body = as_user(sdr).get("/leads/").content.decode()
        assert body.index("Newest Lead") < body.index("old@a.io") or "Newest Lead" in body

    def test_it_searches_and_filters(self, as_user, sdr):
        LeadFactory(email="ada@analytical.io", first_name="Ada", company="Analytical")
        LeadFactory(email="bob@builders.io", first_name="Bob", company="Builders", status=LeadStatus.QUALIFIED)
        client = as_user(sdr)
        body = client.get("/leads/", {"q": "analyt"}).content.decode()
        assert "ada@analytical.io" not in body or "Ada" in body
        assert "Bob" not in body
        body = client.get("/leads/", {"status": "qualified"}).content.decode()
        assert "Bob" in body and "Ada" not in body
        assert client.get("/leads/", {"status": "bogus", "source": "x", "page": "zz"}).status_code == 200

    def test_htmx_gets_only_the_rows(self, as_user, sdr):
        LeadFactory(first_name="Ada")
        response = as_user(sdr).get("/leads/", {"q": "Ada"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lead-rows")
        body = response.content.decode()
        assert "<table" in body and "<html" not in body

    def test_a_user_without_a_role_may_not_see_leads(self, as_user, outsider):
        assert as_user(outsider).get("/leads/").status_code == 403

    def test_the_list_takes_a_constant_number_of_queries(self, as_user, sdr):
        client = as_user(sdr)
        LeadFactory.create_batch(2, source=SourceFactory(name="S"))
        with CaptureQueriesContext(connection) as few:
            client.get("/leads/")
        LeadFactory.create_batch(30, source=SourceFactory(name="T"))
        with CaptureQueriesContext(connection) as many:
            client.get("/leads/")
        assert len(many) == len(few)

    def test_output_is_escaped(self, as_user, sdr):
        LeadFactory(first_name="<script>alert(1)</script>")
        body = as_user(sdr).get("/leads/").content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


class TestLeadPage:
    def test_it_shows_the_person_and_the_timeline(self, as_user, sdr, keyed):
        import json

        keyed.post("/api/v1/leads/", data=json.dumps({"email": "ada@corp.io", "first_name": "Ada",
                                                      "job_title": "CRO", "form_type": "demo_request"}),
                   content_type="application/json")
        lead = Lead.objects.get()
        body = as_user(sdr).get(f"/leads/{lead.pk}/").content.decode()
        assert "Ada" in body and "CRO" in body
        assert "Lead created from Demo request via Website" in body
        assert "API: Website" in body

    def test_a_missing_lead_is_404(self, as_user, sdr):
        assert as_user(sdr).get("/leads/999999/").status_code == 404

    def test_a_user_without_a_role_may_not_see_a_lead(self, as_user, outsider):
        lead = LeadFactory()
        assert as_user(outsider).get(f"/leads/{lead.pk}/").status_code == 403

    def test_the_lead_page_escapes_what_buyers_typed(self, as_user, sdr):
        lead = LeadFactory(first_name="<img src=x onerror=alert(1)>", custom={"<b>k</b>": "<i>v</i>"})
        body = as_user(sdr).get(f"/leads/{lead.pk}/").content.decode()
        assert "<img src=x" not in body
        assert "<i>v</i>" not in body

    def test_post_is_not_allowed(self, as_user, sdr):
        lead = LeadFactory()
        assert as_user(sdr).post(f"/leads/{lead.pk}/").status_code == 405


class TestAdminAndDocs:
    def test_the_admin_lists_every_model(self, client):
        admin = UserFactory(username="root", is_staff=True, is_superuser=True)
        client.force_login(admin)
        LeadFactory()
        for model in ["source", "apikey", "account", "lead", "activity", "submission", "timelineentry",
                      "hostedform", "importjob", "visitorlink", "idempotencykey", "ratelimitbucket"]:
            assert client.get(f"/admin/inbound/{model}/").status_code == 200, model
        assert client.get("/admin/routing/team/").status_code == 200

    def test_the_schema_describes_the_intake_contract(self, as_user, sdr):
        response = as_user(sdr).get("/api/schema/", HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        schema = response.json() if response["Content-Type"].startswith("application/json") else None
        text = response.content.decode()
        assert "/api/v1/leads/" in text and "/api/v1/events/" in text
        assert "Idempotency-Key" in text
        assert schema is None or "paths" in schema

    def test_the_docs_page_renders(self, as_user, sdr):
        response = as_user(sdr).get("/api/docs/")
        assert response.status_code == 200
        assert b"swagger" in response.content.lower()

    def test_the_docs_page_leads_back_to_the_desk(self, as_user, sdr):
        body = as_user(sdr).get("/api/docs/").content.decode()
        assert '<a href="/" data-back-to-desk>' in body and 'id="swagger-ui"' in body
