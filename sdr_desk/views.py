"""The project's own endpoints: what a load balancer asks, and the error pages every app's views end on."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from sdr_desk.homes import home_of

CSRF_REASON = ("This form's security token was missing or out of date: the page was open a long time, or you "
               "signed in again elsewhere. Go back, reload the page and send it again.")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers, 503 when it does not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _error(request: HttpRequest, *, status: int, template: str, reason: str, code: str) -> HttpResponse:
    """The error as the asker can use it: a line of text for htmx (swapped into a page), JSON for the API,
    else a page inside the site's layout with a way home."""
    if getattr(request, "htmx", False):
        return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")
    if request.path.startswith("/api/"):
        return JsonResponse({"error": code, "detail": reason}, status=status)
    user = getattr(request, "user", None)
    # No home for a user without a role: "/" would answer this same page again.
    has_home = bool(user is not None and user.is_authenticated and home_of(user))
    return render(request, template, {"reason": reason, "has_home": has_home}, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the reason is PermissionDenied's message, when the view gave one."""
    reason = str(exception) if getattr(exception, "args", None) else ""
    return _error(request, status=403, template="403.html", reason=reason or "You may not open this page.",
                  code="permission_denied")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: Http404's message when it is one (the resolver's own is a dict of patterns, never shown)."""
    message = exception.args[0] if getattr(exception, "args", None) else ""
    reason = message if isinstance(message, str) else ""
    return _error(request, status=404, template="404.html", reason=reason or "There is no page at this address.",
                  code="not_found")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's reason is for developers; the user is told what to do."""
    return _error(request, status=403, template="403.html", reason=CSRF_REASON, code="csrf_failed")


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask /favicon.ico whatever the page links; send them to the SVG (its hashed name in production)."""
    return HttpResponseRedirect(static("favicon.svg"))
