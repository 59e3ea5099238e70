"""The project's URLs plus a view that fails, to see the 500 page Django renders with DEBUG off."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from sdr_desk.urls import urlpatterns as project_urlpatterns


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *project_urlpatterns]
