"""``Authorization: Api-Key <key>`` for systems that send leads in."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from inbound.models import ApiKey


class ApiKeyUser:
    """The request.user of a keyed request: authenticated, but no person and no staff powers."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.source = api_key.source
        self.pk = None

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix} ({self.source.name})"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        parts = raw.split("_")
        if len(parts) < 3 or parts[0] != "sdk" or len(parts[1]) != ApiKey.PREFIX_LENGTH:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        key = ApiKey.objects.select_related("source").filter(prefix=parts[1]).first()
        if key is None or not hmac.compare_digest(key.hashed_key, ApiKey.hash(raw)):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if not key.source.is_active:
            raise exceptions.AuthenticationFailed("This API key's source is disabled.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            # At most once a minute: a write per request would double intake's cost.
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
