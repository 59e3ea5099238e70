"""Where a page sends the user back to: one same-site check for every form's ``next``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def posted_next(request: HttpRequest) -> str:
    """The form's ``next`` when it stays on this site, else ""."""
    back = request.POST.get("next", "")
    safe = back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                    require_https=request.is_secure())
    return back if safe else ""


def see_other(url: str) -> HttpResponseRedirect:
    """A POST answered with "see the page" (303): the browser GETs it, and a reload never re-posts."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response
