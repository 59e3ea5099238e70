"""Enrolling from the lead page, the manager's list of sequences, and the public unsubscribe page."""

from __future__ import annotations

from anymail.webhooks.postmark import PostmarkInboundWebhookView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbound.models import Lead
from sdr_desk.board.views import lead_rerender
from sdr_desk.routing.ownership import OwnershipError
from sdr_desk.sequences.ab import min_sample, variant_results
from sdr_desk.sequences.editing import may_edit_sequence, sequence_teams
from sdr_desk.sequences.inbound import inbound_message_record
from sdr_desk.sequences.models import RepSignature, SequenceTemplate
from sdr_desk.sequences.sending import unsubscribe_lead_id, unsubscribe_record
from sdr_desk.sequences.services import SequenceInvalid, enrollment_start, signature_default, signature_set


@require_POST
@permission_required("sequences.add_enrollment", raise_exception=True)
def lead_enrol_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    template = SequenceTemplate.objects.filter(pk=request.POST.get("template", "") or 0).first() \
        if request.POST.get("template", "").isdigit() else None
    if template is None:
        return lead_rerender(request, pk, sequence_errors={"template": ["Choose a sequence."]})
    try:
        enrollment_start(lead.pk, template, by=request.user)
    except SequenceInvalid as error:
        return lead_rerender(request, pk, sequence_errors=error.errors)
    except OwnershipError as error:
        raise PermissionDenied(error.message) from error
    messages.success(request, f"Enrolled in {template.name}.")
    return redirect("lead-detail", pk=lead.pk)


@require_GET
@permission_required("sequences.change_sequencetemplate", raise_exception=True)
def templates_view(request: HttpRequest) -> HttpResponse:
    """Every sequence with its steps and how many leads are in it now (a fixed number of queries)."""
    templates = list(SequenceTemplate.objects.select_related("team").prefetch_related("steps")
                     .annotate(ongoing=Count("enrollments", filter=Q(enrollments__status__in=["active", "paused"]))))
    results = variant_results([t.pk for t in templates])
    teams = sequence_teams(request.user)
    for template in templates:
        template.editable = may_edit_sequence(request.user, template, teams=teams)
        for step in template.steps.all():
            step.ab = results.get(step.pk)  # the A/B variants' rates, for steps that have variants
    return render(request, "sequences/templates.html", {"templates": templates, "min_sample": min_sample()})


@login_not_required
@csrf_exempt  # RFC 8058: mail clients POST the one-click unsubscribe with no cookie; the signed token authorises it
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirm button (link scanners follow GETs); POST unsubscribes, one click or from the page."""
    lead_id = unsubscribe_lead_id(token)
    if lead_id is None or not Lead.objects.filter(pk=lead_id).exists():
        return render(request, "sequences/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        unsubscribe_record(lead_id)
        return render(request, "sequences/unsubscribe.html", {"done": True})
    return render(request, "sequences/unsubscribe.html", {"token": token})


INBOUND_MAX_BYTES = 5 * 1024 * 1024


@login_not_required
@csrf_exempt  # posted by the mail provider's webhook, authorised by the shared token, never by a cookie
@require_POST
def inbound_email_view(request: HttpRequest) -> HttpResponse:
    """A raw RFC 5322 message (the body, or SendGrid's ``email`` field) with ``Authorization: Bearer <token>``.

    200 with what became of it, matched or not (an unmatched message is kept, never lost); 403 without the
    token (or when no token is configured), 413 over 5 MB, 400 with no message at all.
    """
    token = getattr(settings, "SEQUENCES_INBOUND_TOKEN", "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not constant_time_compare(given, token):
        return JsonResponse({"detail": "A valid inbound token is required."}, status=403)
    if int(request.headers.get("Content-Length") or 0) > INBOUND_MAX_BYTES:
        return JsonResponse({"detail": "The message is larger than 5 MB."}, status=413)
    raw = request.POST.get("email", "") if request.content_type.startswith(("multipart/", "application/x-www")) \
        else request.body
    if not raw or not raw.strip():
        return JsonResponse({"email": ["Post the raw message as the body, or as the 'email' field."]}, status=400)
    record = inbound_message_record(raw)
    return JsonResponse({"id": record.pk, "kind": record.kind, "enrollment": record.enrollment_id,
                         "rule": record.rule})


@require_http_methods(["GET", "POST"])
@permission_required("sequences.add_enrollment", raise_exception=True)
def signature_view(request: HttpRequest) -> HttpResponse:
    """The signed-in rep's own sign-off for ``{rep_signature}`` (nobody edits another's here; the admin can)."""
    current = RepSignature.objects.filter(user=request.user).values_list("text", flat=True).first()
    context = {"default": signature_default(request.user), "text": current or "", "errors": {}}
    if request.method == "POST":
        text = request.POST.get("text", "")
        try:
            signature_set(user=request.user, text=text)
        except SequenceInvalid as error:
            return render(request, "sequences/signature.html", {**context, "text": text, "errors": error.errors},
                          status=400)
        messages.success(request, "Signature saved." if text.strip() else "Signature back to the default.")
        return redirect("sequence-signature")
    return render(request, "sequences/signature.html", context)


_postmark_inbound = PostmarkInboundWebhookView.as_view()


@login_not_required
@csrf_exempt  # posted by Postmark, authorised by the webhook's basic-auth secret (ANYMAIL_WEBHOOK_SECRET)
@require_POST
def anymail_inbound_view(request: HttpRequest) -> HttpResponse:
    """django-anymail's Postmark inbound webhook: it checks the secret, normalises the message and sends
    ``anymail.signals.inbound``, which ``receivers.anymail_inbound_heard`` hands to the same processing as the
    raw endpoint. No secret configured: 403 (anymail would refuse to start the view)."""
    if not getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET"):
        return JsonResponse({"detail": "No ANYMAIL_WEBHOOK_SECRET is configured."}, status=403)
    return _postmark_inbound(request)
