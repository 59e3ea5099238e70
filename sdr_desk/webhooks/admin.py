"""Endpoints to manage, and the delivery log with its Replay action and button."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from sdr_desk.webhooks.events import webhook_events
from sdr_desk.webhooks.models import Delivery, Endpoint
from sdr_desk.webhooks.sending import body_of
from sdr_desk.webhooks.services import deliveries_replay


class EndpointForm(forms.ModelForm):
    """The URL is a plain text field on purpose: Django's URL form field would put ``http://`` before a URL with no
    scheme; here the model's validator refuses it, and ftp:, file:, javascript: alike."""

    url = forms.CharField(label="URL", max_length=500, widget=forms.URLInput(attrs={"size": 80}),
                          help_text=Endpoint._meta.get_field("url").help_text)
    events = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=())

    class Meta:
        model = Endpoint
        fields = ["name", "url", "events", "is_active", "timeout_seconds"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [(kind, f"{kind}: {text}") for kind, text in webhook_events().items()]


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["name", "url", "events_shown", "is_active", "timeout_seconds", "created_by", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "created_by", "created_at", "updated_at"]
    list_select_related = ["created_by"]

    @admin.display(description="events")
    def events_shown(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.events)

    def get_fields(self, request: HttpRequest, obj: Endpoint | None = None) -> list[str]:
        # The secret exists once the endpoint is saved; it is shown on its page from then on.
        return [*EndpointForm._meta.fields, *(self.readonly_fields if obj else [])]

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The log: read-only, except that any delivery can be replayed (the same event id and body, sent again)."""

    list_display = ["event_id", "kind", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at",
                    "delivered_at"]
    list_filter = ["status", "endpoint", "kind"]
    list_select_related = ["endpoint"]
    search_fields = ["event_id"]
    date_hierarchy = "created_at"
    actions = ["replay"]
    fields = ["endpoint", "event_id", "kind", "status", "attempts", "next_attempt_at", "last_attempt_at",
              "leased_until", "last_status_code", "last_error", "delivered_at", "created_at", "request_body"]
    readonly_fields = fields
    change_form_template = "admin/webhooks/delivery/change_form.html"

    @admin.display(description="request body")
    def request_body(self, delivery: Delivery) -> str:
        pretty = json.dumps(json.loads(body_of(delivery.payload)), indent=2, ensure_ascii=False)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', pretty)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay the selected deliveries", permissions=["change"])
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_replay(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} deliveries queued again, with their event ids and bodies.",
                          messages.SUCCESS)

    def get_urls(self) -> list[URLPattern]:
        replay = self.admin_site.admin_view(require_POST(self.replay_view))
        return [path("<int:pk>/replay/", replay, name="webhooks_delivery_replay"), *super().get_urls()]

    def replay_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        delivery = get_object_or_404(Delivery, pk=pk)
        if not self.has_change_permission(request, delivery):
            raise PermissionDenied
        deliveries_replay([delivery.pk])
        self.message_user(request, f"Delivery {delivery.event_id} queued again.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> HttpResponse | TemplateResponse:
        # Nothing here is edited by hand: no Save buttons; the Replay button is the one action.
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}
        return super().changeform_view(request, object_id, form_url, extra_context)
