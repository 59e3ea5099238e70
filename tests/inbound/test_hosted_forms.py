"""Hosted forms: the public page at /f/<slug>/, its defences, progressive profiling, and the staff list."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound import ratelimit
from inbound.models import HostedForm, Lead, RateLimitBucket, Submission
from inbound.views_forms import HONEYPOT_FIELD, TOKEN_FIELD, VISITOR_COOKIE, form_token
from tests.factories import HostedFormFactory, LeadFactory, SourceFactory

pytestmark = pytest.mark.django_db

ADA = {"email": " Ada@Analytical.io ", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical  Engines",
       "country": "Germany", "phone": "030 1234567"}


@pytest.fixture
def hosted(source) -> HostedForm:
    return HostedFormFactory(
        slug="demo", name="Demo request", title="Book a demo", source=source, form_type="demo_request",
        asset="Product tour", progressive_fields=["industry", "employee_count"],
        thank_you_text="Thanks, Ada-lovers!\nWe will call you.",
    )


def url(form: HostedForm) -> str:
    return f"/f/{form.slug}/"


def submit(client, form: HostedForm, data: dict, *, filled_for: float = 30, token: str | None = None,
           ip: str = "203.0.113.9", **extra):
    """Post like a person who spent ``filled_for`` seconds on the page."""
    body = {TOKEN_FIELD: token if token is not None else form_token(form.slug, issued_at=time.time() - filled_for),
            **data}
    return client.post(url(form), body, REMOTE_ADDR=ip, HTTP_USER_AGENT="Mozilla/5.0 test", **extra)


def nothing_stored() -> bool:
    return not Lead.objects.exists() and not Submission.objects.exists()


# --- rendering -------------------------------------------------------------------------------


def test_it_renders_the_forms_fields_for_anyone(client, hosted):
    response = client.get(url(hosted))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Book a demo" in html
    for name in ["email", "first_name", "last_name", "company", "job_title", "phone", "country", "consent"]:
        assert f'name="{name}"' in html
    assert 'name="industry"' not in html  # a progressive field, asked only of returning visitors
    assert f'name="{TOKEN_FIELD}"' in html
    assert hosted.consent_text in html


def test_it_can_be_embedded_in_another_site(client, hosted):
    response = client.get(url(hosted))
    assert "X-Frame-Options" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_its_honeypot_is_hidden_from_people(client, hosted):
    html = client.get(url(hosted)).content.decode()
    assert f'name="{HONEYPOT_FIELD}"' in html
    trap = html[html.index('class="hf-trap"') - 5: html.index(f'name="{HONEYPOT_FIELD}"') + 80]
    assert 'aria-hidden="true"' in trap
    assert 'tabindex="-1"' in trap
    assert 'autocomplete="off"' in trap


def test_it_fills_attribution_from_the_query_string(client, hosted):
    html = client.get(url(hosted) + "?utm_source=linkedin&utm_campaign=q4&visitor_id=v-1&campaign=Launch").content
    html = html.decode()
    assert 'name="utm_source" value="linkedin"' in html
    assert 'name="utm_campaign" value="q4"' in html
    assert 'name="visitor_id" value="v-1"' in html
    assert 'name="campaign" value="Launch"' in html


def test_inside_an_iframe_the_page_is_the_embedding_page(client, hosted):
    html = client.get(url(hosted), HTTP_REFERER="https://customer.example/demo",
                      HTTP_SEC_FETCH_DEST="iframe").content.decode()
    assert 'name="page_url" value="https://customer.example/demo"' in html


def test_opened_directly_the_referer_is_the_referrer(client, hosted):
    html = client.get(url(hosted), HTTP_REFERER="https://google.com/").content.decode()
    assert 'name="referrer" value="https://google.com/"' in html
    assert 'name="page_url" value="http://testserver/f/demo/"' in html


def test_it_404s_for_an_inactive_form(client, hosted):
    hosted.is_active = False
    hosted.save()
    assert client.get(url(hosted)).status_code == 404
    assert submit(client, hosted, ADA).status_code == 404
    assert nothing_stored()


def test_it_404s_for_an_unknown_form(client, db):
    assert client.get("/f/nope/").status_code == 404


def test_it_rejects_other_methods(client, hosted):
    assert client.put(url(hosted)).status_code == 405
    assert client.delete(url(hosted)).status_code == 405


def test_it_escapes_the_forms_own_texts(client, source):
    form = HostedFormFactory(slug="xss", source=source, title="<script>alert(1)</script>",
                             intro="<img src=x onerror=alert(2)>",
                             thank_you_text="<script>alert(3)</script>\nBye", consent_text="<b>ok</b>")
    html = client.get(url(form)).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html
    assert "<b>ok</b>" not in html
    thanks = submit(client, form, ADA).content.decode()
    assert "<script>alert(3)" not in thanks
    assert "&lt;script&gt;alert(3)&lt;/script&gt;<br>Bye" in thanks


# --- a good submission ---------------------------------------------------------------------


def test_a_good_post_creates_a_lead_from_the_form(client, hosted):
    response = submit(client, hosted, {**ADA, "consent": "on", "utm_source": "linkedin"})
    assert response.status_code == 200
    assert "We will call you." in response.content.decode()
    lead = Lead.objects.get()
    assert lead.source == hosted.source
    assert lead.last_form_type == "demo_request"
    assert lead.last_asset == "Product tour"
    assert lead.consent is True
    assert lead.utm_source == "linkedin"
    submission = Submission.objects.get()
    assert submission.channel == "form"
    assert submission.hosted_form == hosted
    assert submission.source == hosted.source
    assert submission.remote_addr == "203.0.113.9"
    assert submission.user_agent == "Mozilla/5.0 test"
    assert submission.status == "processed"
    assert submission.lead == lead
    assert submission.payload["form_type"] == "demo_request"
    assert submission.payload["email"] == "Ada@Analytical.io"  # stored as received, before normalising


def test_it_normalises_the_leads_fields(client, hosted):
    submit(client, hosted, ADA)
    lead = Lead.objects.get()
    assert lead.email == "ada@analytical.io"
    assert lead.country == "DE"
    assert lead.phone == "+49301234567"
    assert lead.company == "Analytical Engines"


def test_an_unchecked_consent_is_recorded_as_refused(client, hosted):
    submit(client, hosted, ADA)
    assert Lead.objects.get().consent is False


def test_it_does_not_take_fields_the_form_does_not_ask(client, hosted):
    submit(client, hosted, {**ADA, "industry": "Software", "form_type": "newsletter", "asset": "x"})
    lead = Lead.objects.get()
    assert lead.industry == ""
    assert lead.last_form_type == "demo_request"
    assert lead.last_asset == "Product tour"


def test_a_repeat_post_is_a_conversion_on_the_same_lead(client, hosted):
    submit(client, hosted, ADA)
    submit(client, hosted, {**ADA, "email": "ada@analytical.io", "job_title": "Countess"})
    lead = Lead.objects.get()
    assert lead.conversion_count == 2
    assert lead.job_title == "Countess"
    assert Submission.objects.filter(lead=lead).count() == 2


def test_it_redirects_to_the_forms_redirect_url(client, hosted):
    hosted.redirect_url = "https://customer.example/thanks"
    hosted.save()
    response = submit(client, hosted, ADA)
    assert response.status_code == 303
    assert response["Location"] == "https://customer.example/thanks"
    assert Lead.objects.count() == 1


def test_it_cuts_overlong_attribution_instead_of_refusing_the_person(client, hosted):
    response = submit(client, hosted, {**ADA, "referrer": "https://x.example/" + "a" * 900})
    assert response.status_code == 200
    assert len(Lead.objects.get().referrer) == 500


# --- bad input --------------------------------------------------------------------------------


def test_an_invalid_email_is_shown_next_to_the_field_and_nothing_is_stored(client, hosted):
    response = submit(client, hosted, {**ADA, "email": "ada-at-analytical"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="hf-email-error">Enter a valid email address.' in html
    assert 'value="ada-at-analytical"' in html  # kept for correcting
    assert 'value="Analytical  Engines"' in html
    assert nothing_stored()


def test_missing_required_fields_are_shown_next_to_each_field(client, hosted):
    response = submit(client, hosted, {"email": "ada@analytical.io", "last_name": "Lovelace"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="hf-first_name-error">This field is required.' in html
    assert 'id="hf-company-error">This field is required.' in html
    assert 'value="Lovelace"' in html
    assert nothing_stored()


def test_a_missing_email_is_asked_for(client, hosted):
    response = submit(client, hosted, {**ADA, "email": ""})
    assert response.status_code == 400
    assert 'id="hf-email-error">Please enter your email address.' in response.content.decode()
    assert nothing_stored()


def test_a_bad_phone_number_is_shown_next_to_the_phone_field(client, hosted):
    response = submit(client, hosted, {**ADA, "phone": "call me maybe"})
    assert response.status_code == 400
    assert 'id="hf-phone-error">Enter a valid phone number' in response.content.decode()
    assert nothing_stored()


def test_a_field_error_keeps_the_token_so_a_quick_fix_is_not_too_fast(client, hosted):
    token = form_token(hosted.slug, issued_at=time.time() - 30)
    response = submit(client, hosted, {**ADA, "email": "nope"}, token=token)
    assert f'value="{token}"' in response.content.decode()


# --- anti-automation ---------------------------------------------------------------------------


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(client, hosted):
    response = submit(client, hosted, {**ADA, HONEYPOT_FIELD: "https://spam.example"})
    assert response.status_code == 200
    assert "We will call you." in response.content.decode()
    assert VISITOR_COOKIE not in response.cookies
    assert nothing_stored()


def test_a_form_filled_too_fast_is_refused(client, hosted, settings):
    settings.FORM_MIN_FILL_SECONDS = 5
    response = submit(client, hosted, ADA, filled_for=2)
    assert response.status_code == 400
    html = response.content.decode()
    assert "quicker than we expected" in html
    assert 'value="Analytical  Engines"' in html
    assert nothing_stored()


def test_a_form_filled_in_the_minimum_time_is_taken(client, hosted, settings):
    settings.FORM_MIN_FILL_SECONDS = 5
    assert submit(client, hosted, ADA, filled_for=6).status_code == 200
    assert Lead.objects.count() == 1


def test_a_page_left_open_for_days_has_expired(client, hosted):
    response = submit(client, hosted, ADA, filled_for=2 * 24 * 3600)
    assert response.status_code == 400
    assert "expired" in response.content.decode()
    assert nothing_stored()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        pytest.param("tampered", id="tampered"),
        pytest.param("other-form", id="another-forms-token"),
    ],
)
def test_a_missing_or_forged_token_is_refused(client, hosted, token):
    good = form_token(hosted.slug, issued_at=time.time() - 30)
    if token == "tampered":
        token = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    elif token == "other-form":
        token = form_token("other", issued_at=time.time() - 30)
    response = submit(client, hosted, ADA, token=token)
    assert response.status_code == 400
    assert "could not check" in response.content.decode()
    assert nothing_stored()


def test_a_refused_token_is_replaced_so_a_person_can_submit_again(client, hosted):
    html = submit(client, hosted, ADA, token="garbage").content.decode()
    assert f'name="{TOKEN_FIELD}" value="garbage"' not in html
    assert f'name="{TOKEN_FIELD}" value="' in html


def test_a_flood_from_one_address_is_refused_without_storing(client, hosted, settings):
    settings.FORM_RATE_LIMIT = 3
    for n in range(3):
        assert submit(client, hosted, {**ADA, "email": f"ada{n}@analytical.io"}).status_code == 200
    response = submit(client, hosted, {**ADA, "email": "ada9@analytical.io"})
    assert response.status_code == 429
    assert "Too many submissions" in response.content.decode()
    assert 0 < int(response["Retry-After"]) <= settings.FORM_RATE_WINDOW_SECONDS
    assert Lead.objects.count() == 3
    assert Submission.objects.count() == 3
    assert submit(client, hosted, {**ADA, "email": "bob@analytical.io"}, ip="198.51.100.7").status_code == 200


def test_bots_count_towards_the_rate_limit_too(client, hosted, settings):
    settings.FORM_RATE_LIMIT = 2
    for _ in range(2):
        submit(client, hosted, ADA, token="garbage")
    assert submit(client, hosted, ADA).status_code == 429
    assert nothing_stored()


def test_the_rate_limit_is_per_form(client, hosted, source, settings):
    settings.FORM_RATE_LIMIT = 1
    other = HostedFormFactory(slug="other", source=source)
    assert submit(client, hosted, ADA).status_code == 200
    assert submit(client, other, ADA).status_code == 200
    assert submit(client, hosted, ADA).status_code == 429


# --- the rate limiter itself ----------------------------------------------------------------------


def test_the_rate_limiter_allows_exactly_the_limit_in_a_window(db):
    hits = [ratelimit.rate_limit_hit(key="k", limit=3, window_seconds=60) for _ in range(5)]
    assert hits == [False, False, False, True, True]
    assert ratelimit.rate_limit_hit(key="other", limit=3, window_seconds=60) is False


def test_a_new_window_starts_a_new_count(db):
    now = 1_700_000_000.0
    assert ratelimit.rate_limit_count(key="k", window_seconds=60, now=now) == 1
    assert ratelimit.rate_limit_count(key="k", window_seconds=60, now=now + 1) == 2
    assert ratelimit.rate_limit_count(key="k", window_seconds=60, now=now + 60) == 1


@pytest.mark.django_db(transaction=True)
def test_the_rate_limiter_counts_exactly_under_concurrency():
    from django.db import connections

    threads_count, limit = 24, 7
    barrier = threading.Barrier(threads_count)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def hit() -> None:
        try:
            barrier.wait()
            over = ratelimit.rate_limit_hit(key="flood", limit=limit, window_seconds=3600)
            with lock:
                results.append(over)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=hit) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results.count(False) == limit
    assert RateLimitBucket.objects.get(key="flood").count == threads_count


def test_old_buckets_are_pruned(db, monkeypatch):
    old = timezone.now() - timedelta(days=2)
    RateLimitBucket.objects.create(key="stale", window_start=old, count=4)
    monkeypatch.setattr(ratelimit, "PRUNE_PROBABILITY", 1.0)
    ratelimit.rate_limit_hit(key="fresh", limit=3, window_seconds=60)
    assert list(RateLimitBucket.objects.values_list("key", flat=True)) == ["fresh"]


def test_pruning_spares_windows_that_may_still_be_counting(db):
    RateLimitBucket.objects.create(key="long", window_start=timezone.now() - timedelta(hours=3), count=4)
    assert ratelimit.rate_limit_prune(before=timezone.now() - ratelimit.PRUNE_AFTER) == 0
    assert RateLimitBucket.objects.count() == 1


@pytest.mark.skipif(sqlite3.sqlite_version_info < (3, 35), reason="SQLite before 3.35 has no RETURNING")
def test_the_upsert_also_runs_on_sqlite(db):
    table = RateLimitBucket._meta.db_table
    sqlite = sqlite3.connect(":memory:")
    sqlite.execute(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, "key" TEXT, "window_start" TEXT, '
                   f'"count" INTEGER, UNIQUE ("key", "window_start"))')
    sql = ratelimit._upsert_sql().replace("%s", "?")
    start = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    counts = [sqlite.execute(sql, ["k", start]).fetchone()[0] for _ in range(3)]
    assert counts == [1, 2, 3]


# --- progressive profiling -------------------------------------------------------------------------


def test_a_submission_remembers_the_visitor_in_a_signed_cookie(client, hosted):
    response = submit(client, hosted, ADA)
    cookie = response.cookies[VISITOR_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert str(Lead.objects.get().pk) in cookie.value and ":" in cookie.value


def test_over_https_the_cookie_works_inside_a_cross_site_iframe(client, hosted):
    cookie = submit(client, hosted, ADA, secure=True).cookies[VISITOR_COOKIE]
    assert cookie["samesite"] == "None"
    assert cookie["secure"]


def test_a_returning_visitor_is_not_asked_again_for_what_is_known(client, hosted):
    submit(client, hosted, ADA)  # no job title given
    html = client.get(url(hosted)).content.decode()
    for known in ["first_name", "last_name", "company", "phone", "country"]:
        assert f'name="{known}"' not in html
    assert 'name="job_title"' in html  # still unknown
    assert 'name="industry"' in html and 'name="employee_count"' in html  # asked instead
    assert '<input type="hidden" name="email" value="ada@analytical.io">' in html
    assert "Not ada@analytical.io?" in html
    assert 'href="?reset=1"' in html


def test_a_returning_visitors_page_shows_nothing_else_about_the_lead(client, hosted):
    submit(client, hosted, ADA)
    html = client.get(url(hosted)).content.decode()
    for secret in ["Lovelace", "Analytical Engines", "+49301234567", "DE\""]:
        assert secret not in html


def test_a_returning_visitor_is_not_required_to_repeat_known_required_fields(client, hosted):
    submit(client, hosted, ADA)
    response = submit(client, hosted, {"email": "ada@analytical.io", "industry": "Software",
                                       "employee_count": "51-200"})
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.conversion_count == 2
    assert lead.industry == "Software"
    assert lead.employee_range == "51-200"
    assert lead.first_name == "Ada"


def test_someone_else_posting_from_a_remembered_browser_is_asked_everything(client, hosted):
    submit(client, hosted, ADA)
    response = submit(client, hosted, {"email": "bob@builder.io", "industry": "Construction"})
    assert response.status_code == 400
    assert 'id="hf-first_name-error"' in response.content.decode()
    assert Lead.objects.count() == 1


def test_reset_shows_the_full_form_and_forgets_the_visitor(client, hosted):
    submit(client, hosted, ADA)
    response = client.get(url(hosted) + "?reset=1&utm_source=x")
    html = response.content.decode()
    assert 'name="first_name"' in html and 'type="email"' in html
    assert "ada@analytical.io" not in html
    assert 'name="utm_source" value="x"' in html
    assert response.cookies[VISITOR_COOKIE].value == ""
    assert client.get(url(hosted)).content.decode().count('name="first_name"') == 1


def test_the_reset_link_keeps_the_attribution_query(client, hosted):
    submit(client, hosted, ADA)
    html = client.get(url(hosted) + "?utm_source=x").content.decode()
    assert 'href="?utm_source=x&amp;reset=1"' in html


def test_a_forged_visitor_cookie_is_ignored(client, hosted):
    victim = LeadFactory(email="victim@corp.example", first_name="Vic")
    client.cookies[VISITOR_COOKIE] = f"{victim.pk}:forged-signature"
    html = client.get(url(hosted)).content.decode()
    assert "victim@corp.example" not in html
    assert 'name="first_name"' in html


def test_a_cookie_signed_for_something_else_is_ignored(client, hosted):
    from django.core.signing import get_cookie_signer

    victim = LeadFactory(email="victim@corp.example")
    client.cookies[VISITOR_COOKIE] = get_cookie_signer(salt=VISITOR_COOKIE + "other").sign(str(victim.pk))
    assert "victim@corp.example" not in client.get(url(hosted)).content.decode()


def test_a_cookie_for_a_deleted_lead_shows_the_full_form(client, hosted):
    submit(client, hosted, ADA)
    Lead.objects.all().delete()
    html = client.get(url(hosted)).content.decode()
    assert 'name="first_name"' in html and 'type="email"' in html


# --- the staff list of forms -----------------------------------------------------------------------


def test_the_form_list_requires_sign_in(client, hosted):
    response = client.get("/forms/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_form_list_is_forbidden_without_the_permission(as_user, sdr, outsider, hosted):
    assert as_user(sdr).get("/forms/").status_code == 403
    assert as_user(outsider).get("/forms/").status_code == 403


@pytest.mark.parametrize("persona", ["manager", "marketing"])
def test_the_form_list_shows_each_forms_address_snippet_and_recent_submissions(as_user, hosted, request, persona):
    Submission.objects.create(channel="form", hosted_form=hosted, payload={})
    Submission.objects.create(channel="form", hosted_form=hosted, payload={}, received_at=timezone.now()
                              - timedelta(days=40))
    response = as_user(request.getfixturevalue(persona)).get("/forms/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://testserver/f/demo/" in html
    assert "&lt;iframe src=&quot;http://testserver/f/demo/&quot;" in html
    assert "<textarea readonly" in html
    row = response.context["rows"][0]
    assert row["form"].recent_submissions == 1


def test_the_form_list_links_who_may_edit_to_the_editor(client, hosted, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@desk.test", "pw")
    client.force_login(admin)
    assert f'href="/forms/{hosted.pk}/edit/"' in client.get("/forms/").content.decode()


def test_the_form_list_escapes_form_titles(as_user, manager, source):
    HostedFormFactory(slug="x", source=source, name="<script>n</script>", title='"><script>t</script>')
    html = as_user(manager).get("/forms/").content.decode()
    assert "<script>n" not in html and "<script>t" not in html


def test_the_form_list_query_count_does_not_grow_with_forms(as_user, manager, source):
    client = as_user(manager)
    HostedFormFactory(source=source)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/forms/").status_code == 200
    for _ in range(6):
        form = HostedFormFactory(source=SourceFactory())
        Submission.objects.create(channel="form", hosted_form=form, payload={})
    with CaptureQueriesContext(connection) as many:
        assert client.get("/forms/").status_code == 200
    assert len(many) == len(few)
