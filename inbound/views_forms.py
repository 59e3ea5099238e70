"""Hosted forms: the public page at ``/f/<slug>/``, and for staff the list of forms and the page that makes one.

The public page is embedded in customer sites, usually in an iframe, where the
browser blocks our CSRF cookie. So it is CSRF-exempt and protected instead by
a signed token bound to the form, which also measures how long the visitor
took (bots post at once), plus a honeypot and a per-IP rate limit (OWASP ASVS
V11.1). Spam and floods are turned away before anything is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

import pycountry
from django import forms
from django.conf import settings
from django.contrib import messages as notices
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core import signing
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from inbound.models import HostedForm, Lead, Source, SubmissionChannel
from inbound.payloads import LeadPayloadSerializer, clean_lead_payload
from inbound.ratelimit import rate_limit_hit, retry_after
from inbound.services import lead_submission_accept
from inbound.web import client_ip

TOKEN_FIELD = "form_token"
TOKEN_SALT = "inbound.hosted_form.token"
TOKEN_MAX_AGE = timedelta(days=1)
# A visible-to-bots field; the name is one a form filler will happily complete.
HONEYPOT_FIELD = "website_url"

VISITOR_COOKIE = "sdr_form_visitor"
VISITOR_COOKIE_SALT = "inbound.hosted_form.visitor"
VISITOR_COOKIE_MAX_AGE = int(timedelta(days=365).total_seconds())

# Filled by the embedding page (query string of the iframe's src, or script),
# never typed by the visitor.
HIDDEN_FIELDS = (
    "page_url", "referrer", "landing_page", "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term",
    "utm_content", "visitor_id",
)

EMPLOYEE_RANGES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10000+"]

# (input type, autocomplete token) per field; labels come from the model.
WIDGETS: dict[str, tuple[str, str]] = {
    "first_name": ("text", "given-name"),
    "last_name": ("text", "family-name"),
    "phone": ("tel", "tel"),
    "job_title": ("text", "organization-title"),
    "company": ("text", "organization"),
    "website": ("url-text", "url"),
    "employee_count": ("select", "off"),
    "industry": ("text", "off"),
    "country": ("select", "country"),
    "state": ("text", "address-level1"),
    "city": ("text", "address-level2"),
}
# Short fields that sit side by side on a wide screen.
HALF_WIDTH = {"first_name", "last_name", "state", "city"}
LABELS = dict(HostedForm.FIELD_CHOICES)

REQUIRED_MESSAGE = "This field is required."


# --- the anti-automation token ------------------------------------------------------


def form_token(slug: str, *, issued_at: float | None = None) -> str:
    """A token saying "this form was served at this time", which only we can make."""
    issued = int(time.time() if issued_at is None else issued_at)
    return signing.Signer(salt=TOKEN_SALT).sign_object({"form": slug, "at": issued})


def form_token_problem(token: str, *, slug: str, now: float | None = None) -> str | None:
    """What is wrong with a posted token, as a message for the visitor; None when it is good."""
    now = time.time() if now is None else now
    try:
        data = signing.Signer(salt=TOKEN_SALT).unsign_object(token)
        issued = float(data["at"])
        valid = data["form"] == slug
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        return "We could not check that this form was sent from this page. Please submit it again."
    age = now - issued
    if age > TOKEN_MAX_AGE.total_seconds():
        return "This page was open for a long time and has expired. Please check your details and submit again."
    if age < settings.FORM_MIN_FILL_SECONDS:
        return "That was quicker than we expected. Please check your details and submit again."
    return None


# --- progressive profiling -----------------------------------------------------------


def _returning_lead(request: HttpRequest) -> Lead | None:
    """The lead this browser submitted as before, from our signed cookie; None if unknown or reset."""
    if request.GET.get("reset"):
        return None
    lead_id = request.get_signed_cookie(
        VISITOR_COOKIE, default=None, salt=VISITOR_COOKIE_SALT, max_age=VISITOR_COOKIE_MAX_AGE
    )
    if not lead_id or not str(lead_id).isdigit():
        return None
    return Lead.objects.filter(pk=int(lead_id)).only("pk", "email", *LABELS, "employee_range").first()


def _known(lead: Lead, name: str) -> bool:
    if name == "employee_count":
        return lead.employee_count is not None or bool(lead.employee_range)
    return getattr(lead, name) not in (None, "")


def fields_to_ask(form: HostedForm, lead: Lead | None) -> list[str]:
    """The form's fields, or for a returning lead its unknown fields then the unknown progressive ones."""
    if lead is None:
        return list(form.fields)
    names = list(dict.fromkeys([*form.fields, *form.progressive_fields]))
    return [name for name in names if not _known(lead, name)]


def _visitor_cookie_set(request: HttpRequest, response: HttpResponse, lead: Lead) -> None:
    # Inside a cross-site iframe only SameSite=None reaches us again, and
    # browsers accept that only on a Secure cookie, so plain HTTP gets Lax.
    secure = request.is_secure()
    response.set_signed_cookie(
        VISITOR_COOKIE, str(lead.pk), salt=VISITOR_COOKIE_SALT, max_age=VISITOR_COOKIE_MAX_AGE,
        httponly=True, secure=secure, samesite="None" if secure else "Lax",
    )


# --- rendering ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _countries() -> list[tuple[str, str]]:
    countries = [(c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries]
    return sorted(countries, key=lambda item: item[1])


@dataclass
class FormField:
    name: str
    label: str
    kind: str
    autocomplete: str
    required: bool
    value: str = ""
    errors: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    half: bool = False


def _form_fields(form: HostedForm, asked: list[str], values: dict[str, str],
                 errors: dict[str, list[str]]) -> list[FormField]:
    fields = []
    for name in asked:
        kind, autocomplete = WIDGETS[name]
        options: list[tuple[str, str]] = []
        if name == "country":
            options = _countries()
        elif name == "employee_count":
            options = [(size, f"{size} employees") for size in EMPLOYEE_RANGES]
        fields.append(FormField(
            name=name, label=LABELS[name], kind=kind, autocomplete=autocomplete,
            required=name in form.required_fields, value=values.get(name, ""),
            errors=errors.get(name, []), options=options, half=name in HALF_WIDTH,
        ))
    return fields


def _hidden_initial(request: HttpRequest) -> dict[str, str]:
    """Attribution for a first render: the query string, else what the Referer header tells."""
    values = {name: request.GET[name] for name in HIDDEN_FIELDS if request.GET.get(name)}
    referer = request.headers.get("Referer", "")
    # In an iframe the Referer is the embedding page; opened directly, it is
    # where the visitor came from, and the page is the form itself.
    if request.headers.get("Sec-Fetch-Dest") == "iframe":
        values.setdefault("page_url", referer)
    else:
        values.setdefault("page_url", request.build_absolute_uri(request.path))
        values.setdefault("referrer", referer)
    return {name: value for name, value in values.items() if value}


def _render_form(
    request: HttpRequest, form: HostedForm, lead: Lead | None, *, status: int = 200, token: str | None = None,
    values: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None, message: str = "",
) -> HttpResponse:
    values = values if values is not None else _hidden_initial(request)
    errors = errors or {}
    asked = fields_to_ask(form, lead)
    reset_query = request.GET.copy()
    reset_query["reset"] = "1"
    context = {
        "form": form,
        "fields": _form_fields(form, asked, values, errors),
        "returning_email": lead.email if lead else "",
        "reset_url": f"?{reset_query.urlencode()}",
        "email": lead.email if lead else values.get("email", ""),
        "email_errors": errors.get("email", []),
        "consent_checked": values.get("consent") == "on",
        "consent_errors": errors.get("consent", []),
        "hidden": [(name, values.get(name, "")) for name in HIDDEN_FIELDS],
        "token_field": TOKEN_FIELD,
        "token": token or form_token(form.slug),
        "honeypot_field": HONEYPOT_FIELD,
        "message": message,
        "other_errors": _other_errors(errors, asked),
    }
    response = render(request, "inbound/hosted_form.html", context, status=status)
    if request.GET.get("reset"):
        response.delete_cookie(VISITOR_COOKIE, samesite="None" if request.is_secure() else "Lax")
    return response


def _other_errors(errors: dict[str, list[str]], asked: list[str]) -> list[str]:
    """Errors on fields the visitor cannot see (attribution, the form's setup), shown above the form."""
    shown = {"email", "consent", *asked}
    return [
        message if name == "non_field_errors" else f"{LABELS.get(name, name)}: {message}"
        for name, messages in errors.items() if name not in shown
        for message in messages
    ]


def _thanks(request: HttpRequest, form: HostedForm) -> HttpResponse:
    if form.redirect_url:
        return HttpResponseRedirect(form.redirect_url, status=303)
    return render(request, "inbound/hosted_form_thanks.html", {"form": form})


# --- the submission ---------------------------------------------------------------------


@lru_cache(maxsize=1)
def _max_lengths() -> dict[str, int]:
    fields = LeadPayloadSerializer().fields
    return {name: fields[name].max_length for name in HIDDEN_FIELDS}


def _payload(request: HttpRequest, form: HostedForm, asked: list[str]) -> dict[str, Any]:
    """The lead contract's payload from the post: only what this form asks, plus what the form says."""
    post = request.POST
    payload: dict[str, Any] = {"email": post.get("email", "").strip()}
    payload |= {name: post[name].strip() for name in asked if post.get(name, "").strip()}
    if form.ask_consent:
        payload["consent"] = post.get("consent") == "on"
    payload["form_type"] = form.form_type
    if form.asset:
        payload["asset"] = form.asset
    # Attribution is filled by scripts and URLs we do not control: cut it to
    # the contract's lengths rather than refuse a person's request over it.
    limits = _max_lengths()
    payload |= {name: post[name].strip()[: limits[name]] for name in HIDDEN_FIELDS if post.get(name, "").strip()}
    return payload


def _required_errors(form: HostedForm, asked: list[str], payload: dict[str, Any]) -> dict[str, list[str]]:
    errors = {} if payload["email"] else {"email": ["Please enter your email address."]}
    errors |= {name: [REQUIRED_MESSAGE] for name in asked if name in form.required_fields and name not in payload}
    return errors


def _form_errors(errors: dict[str, Any]) -> dict[str, list[str]]:
    """DRF's error dict as {field: [message]}, whatever its nesting."""
    flat: dict[str, list[str]] = {}
    for name, messages in errors.items():
        if isinstance(messages, dict):
            messages = [f"{key}: {value}" for key, value in messages.items()]
        elif not isinstance(messages, list):
            messages = [messages]
        flat[name] = [str(message) for message in messages]
    return flat


def _submit(request: HttpRequest, form: HostedForm) -> HttpResponse:
    lead = _returning_lead(request)
    if lead is not None and request.POST.get("email", "").strip().lower() != lead.email:
        # Someone else is typing in this browser: ask them everything.
        lead = None
    asked = fields_to_ask(form, lead)
    values = {name: value for name, value in request.POST.items() if name not in (TOKEN_FIELD, HONEYPOT_FIELD)}

    if request.POST.get(HONEYPOT_FIELD):
        # Look like success, so that the bot learns nothing; store nothing.
        return _thanks(request, form)
    token = request.POST.get(TOKEN_FIELD, "")
    problem = form_token_problem(token, slug=form.slug)
    if problem:
        return _render_form(request, form, lead, status=400, values=values, message=problem)

    payload = _payload(request, form, asked)
    errors = _required_errors(form, asked, payload)
    cleaned, invalid = clean_lead_payload(payload)
    errors = _form_errors(invalid) | errors
    if errors:
        return _render_form(request, form, lead, status=400, token=token, values=values, errors=errors,
                            message="Please correct the highlighted fields.")

    outcome = lead_submission_accept(
        cleaned=cleaned, payload=payload, channel=SubmissionChannel.FORM, source=form.source, hosted_form=form,
        remote_addr=client_ip(request), user_agent=request.headers.get("User-Agent", ""),
    )
    response = _thanks(request, form)
    if outcome.lead is not None:
        _visitor_cookie_set(request, response, outcome.lead)
    return response


def _rate_limited(request: HttpRequest, form: HostedForm) -> HttpResponse | None:
    window = settings.FORM_RATE_WINDOW_SECONDS
    key = f"hosted-form:{form.pk}:{client_ip(request) or 'unknown'}"
    if not rate_limit_hit(key=key, limit=settings.FORM_RATE_LIMIT, window_seconds=window):
        return None
    response = render(request, "inbound/hosted_form_limited.html", {"form": form}, status=429)
    response["Retry-After"] = str(retry_after(window))
    return response


@login_not_required
@csrf_exempt
@xframe_options_exempt
@never_cache  # the page holds a fresh token and, for a returning visitor, their email
@require_http_methods(["GET", "POST"])
def hosted_form(request: HttpRequest, slug: str) -> HttpResponse:
    form = get_object_or_404(HostedForm.objects.select_related("source"), slug=slug, is_active=True)
    if request.method == "GET":
        return _render_form(request, form, _returning_lead(request))
    return _rate_limited(request, form) or _submit(request, form)


# --- staff ------------------------------------------------------------------------------------


def _embed_snippet(url: str, title: str) -> str:
    """HTML for the customer to paste; a plain string, so the page escapes it once more to show it."""
    return (
        f'<iframe src="{escape(url)}" title="{escape(title)}" width="100%" height="720" loading="lazy" '
        f'style="border:0;max-width:600px"></iframe>'
    )


@require_GET
@permission_required("inbound.view_hostedform", raise_exception=True)
def form_list(request: HttpRequest) -> HttpResponse:
    since = timezone.now() - timedelta(days=30)
    forms = HostedForm.objects.select_related("source").annotate(
        recent_submissions=Count("submissions", filter=Q(submissions__received_at__gte=since))
    )
    rows = []
    for form in forms:
        url = request.build_absolute_uri(form.get_absolute_url())
        rows.append({"form": form, "url": url, "snippet": _embed_snippet(url, form.title)})
    return render(request, "inbound/form_list.html", {"rows": rows})


class HostedFormForm(forms.ModelForm):
    """A hosted form as marketing sets one up; the model's own ``clean`` checks the field lists."""

    redirect_url = forms.URLField(required=False, assume_scheme="https", label="Redirect after submitting",
                                  help_text=HostedForm._meta.get_field("redirect_url").help_text)

    class Meta:
        model = HostedForm
        fields = ["name", "slug", "title", "intro", "source", "form_type", "asset", "fields", "required_fields",
                  "progressive_fields", "ask_consent", "consent_text", "submit_label", "thank_you_text",
                  "redirect_url", "is_active"]
        labels = {"slug": "Address", "fields": "Fields asked besides email", "required_fields": "Required",
                  "progressive_fields": "Asked a returning visitor instead", "ask_consent": "Ask for consent",
                  "redirect_url": "Redirect after submitting", "is_active": "Active (accepting submissions)"}
        help_texts = {"slug": "the form lives at /f/<address>/; left empty, made from the name"}
        widgets = {"intro": forms.Textarea(attrs={"rows": 3}), "thank_you_text": forms.Textarea(attrs={"rows": 2})}

    LIST_FIELDS = ("fields", "required_fields", "progressive_fields")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.LIST_FIELDS:
            self.fields[name] = forms.MultipleChoiceField(
                choices=HostedForm.FIELD_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                label=self.Meta.labels[name], help_text=HostedForm._meta.get_field(name).help_text,
            )
        self.fields["slug"].required = False
        current = self.instance.source_id if self.instance.pk else None
        self.fields["source"].queryset = Source.objects.filter(Q(is_active=True) | Q(pk=current)).order_by("name")

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("name", ""))[:50]
        if not slug:
            raise forms.ValidationError("Give the form an address: letters, numbers and hyphens.")
        return slug

    def _in_order(self, name: str) -> list[str]:
        """The ticked fields, keeping the order the form already asks them in (the admin may have set one)."""
        chosen = set(self.cleaned_data.get(name) or [])
        before = [field for field in getattr(self.instance, name) or [] if field in chosen]
        return before + [field for field, _ in HostedForm.FIELD_CHOICES if field in chosen and field not in before]

    def clean_fields(self) -> list[str]:
        return self._in_order("fields")

    def clean_required_fields(self) -> list[str]:
        return self._in_order("required_fields")

    def clean_progressive_fields(self) -> list[str]:
        return self._in_order("progressive_fields")


def _form_edit(request: HttpRequest, hosted_form: HostedForm) -> HttpResponse:
    creating = hosted_form.pk is None
    form = HostedFormForm(request.POST or None, instance=hosted_form)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        done = "created" if creating else "saved"
        if saved.is_active:
            notices.success(request, f"Form “{saved.name}” {done}: it is live at {saved.get_absolute_url()}.")
        else:
            notices.success(request, f"Form “{saved.name}” {done}, inactive: it accepts no submissions.")
        return redirect("form-list")
    status = 400 if request.method == "POST" else 200
    return render(request, "inbound/form_edit.html", {"form": form, "creating": creating, "hosted_form": hosted_form},
                  status=status)


@require_http_methods(["GET", "POST"])
@permission_required("inbound.add_hostedform", raise_exception=True)
def form_new(request: HttpRequest) -> HttpResponse:
    """A new hosted form, validated as the model validates it (the admin's rules, on a page marketing may use)."""
    return _form_edit(request, HostedForm())


@require_http_methods(["GET", "POST"])
@permission_required("inbound.change_hostedform", raise_exception=True)
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_edit(request, get_object_or_404(HostedForm, pk=pk))
