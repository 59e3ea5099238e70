"""The intake contract: what a lead or an event payload may hold, and its normal form.

One declaration serves every channel (API, hosted form, CSV row, replay) and
the OpenAPI schema, so a field means the same thing wherever it arrives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from inbound import normalise
from inbound.models import ActivityType, FormType


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know: a typo in an integration must not be silently dropped."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, trim_whitespace=True, **kwargs
    )


def _apply(fn: Callable[[str], str], value: str) -> str:
    try:
        return fn(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from None


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "example": "51-200"}]})
class EmployeeCountField(serializers.Field):
    """A number, or a range such as "51-200" (also "1k-5k", "10,000+")."""

    def to_internal_value(self, data: Any) -> tuple[int | None, str]:
        if not isinstance(data, (int, float, str)) or isinstance(data, bool):
            raise serializers.ValidationError("Give a number or a range such as 51-200.")
        try:
            return normalise.employee_count(data)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value: int | None) -> int | None:
        return value


class LeadPayloadSerializer(StrictSerializer):
    email = serializers.CharField(max_length=254, help_text="Required; the lead's identity once lowercased.")
    first_name = _text(100)
    last_name = _text(100)
    phone = _text(40, help_text="Any format; stored as E.164, read with `country` when it has no country code.")
    job_title = _text(200)
    company = _text(200)
    website = _text(300)
    employee_count = EmployeeCountField(required=False, allow_null=True,
                                        help_text='A number, or a range such as "51-200".')
    industry = _text(100)
    country = _text(100, help_text="A name or an ISO 3166 code; stored as the alpha-2 code.")
    state = _text(100)
    city = _text(100)
    time_zone = _text(64, help_text="An IANA time zone such as Europe/Berlin.")
    form_type = serializers.ChoiceField(choices=FormType.choices, required=False, allow_blank=True)
    asset = _text(200)
    page_url = _text(1000)
    campaign = _text(200)
    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    referrer = _text(500)
    landing_page = _text(500)
    consent = serializers.BooleanField(required=False, allow_null=True)
    visitor_id = _text(100)
    custom = serializers.DictField(required=False, help_text="Free-form fields, kept as given.")

    def validate_email(self, value: str) -> str:
        return _apply(normalise.email, value)

    def validate_country(self, value: str) -> str:
        return _apply(normalise.country, value)

    def validate_time_zone(self, value: str) -> str:
        return _apply(normalise.time_zone, value)

    def validate_website(self, value: str) -> str:
        return _apply(normalise.website, value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("first_name", "last_name", "job_title", "company", "industry", "state", "city", "asset"):
            if name in attrs:
                attrs[name] = normalise.text(attrs[name])
        if attrs.get("phone"):
            try:
                attrs["phone"] = normalise.phone(attrs["phone"], region=attrs.get("country", ""))
            except ValueError as error:
                raise serializers.ValidationError({"phone": [str(error)]}) from None
        if "employee_count" in attrs:
            count, given_range = attrs.pop("employee_count") or (None, "")
            attrs["employee_count"] = count
            attrs["employee_range"] = given_range
        return attrs


class EventPayloadSerializer(StrictSerializer):
    type = serializers.ChoiceField(choices=[c for c in ActivityType.choices if c[0] != ActivityType.FORM_SUBMIT])
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    visitor_id = _text(100)
    url = _text(1000)
    title = _text(300)
    name = _text(200, help_text="The asset, webinar or milestone.")
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601; defaults to now.")

    NEEDS = {
        ActivityType.PAGE_VIEW: "url",
        ActivityType.PRICING_PAGE_VIEW: "url",
        ActivityType.CONTENT_DOWNLOAD: "name",
        ActivityType.WEBINAR_ATTENDED: "name",
        ActivityType.TRIAL_MILESTONE: "name",
    }

    def validate_email(self, value: str) -> str:
        return _apply(normalise.email, value) if value else ""

    def validate_occurred_at(self, value: Any) -> Any:
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("An event cannot happen in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("email") and not attrs.get("visitor_id"):
            raise serializers.ValidationError({"email": ["Give the lead's email or a visitor_id."]})
        needed = self.NEEDS.get(attrs["type"])
        if needed and not attrs.get(needed):
            raise serializers.ValidationError({needed: [f"A {attrs['type']} event needs {needed}."]})
        attrs.setdefault("occurred_at", timezone.now())
        return attrs


_validators = threading.local()


def _validator(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One unbound serializer per class and thread.

    Instantiating a serializer deep-copies its thirty declared fields, which
    cost more than validating a payload; ``run_validation`` on a kept instance
    does the same checks without that copy. Per thread, because fields bind to
    their parent instance.
    """
    cache = getattr(_validators, "by_class", None)
    if cache is None:
        cache = _validators.by_class = {}
    instance = cache.get(serializer_class)
    if instance is None:
        instance = cache[serializer_class] = serializer_class()
    return instance


def _clean(serializer_class: type[serializers.Serializer], payload: Any) -> tuple[dict[str, Any] | None,
                                                                                   dict[str, Any]]:
    try:
        return dict(_validator(serializer_class).run_validation(payload)), {}
    except serializers.ValidationError as error:
        detail = error.detail
        if not isinstance(detail, dict):
            detail = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
        return None, detail


def clean_lead_payload(payload: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(cleaned, {}) or (None, field errors): the one check every channel runs."""
    return _clean(LeadPayloadSerializer, payload)


def clean_event_payload(payload: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    return _clean(EventPayloadSerializer, payload)
