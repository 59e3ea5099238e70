"""The project's URLs: each app's pages and API endpoints, included; sign-in, admin and the API docs."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inbound import api
from sdr_desk import views
from sdr_desk.dispositions.urls import api_urlpatterns as dispositions_api
from sdr_desk.handoff import api as handoff_api_views
from sdr_desk.handoff.urls import api_urlpatterns as handoff_api
from sdr_desk.qualification.urls import api_urlpatterns as qualification_api
from sdr_desk.routing.urls import api_urlpatterns as routing_api
from sdr_desk.sequences.urls import api_urlpatterns as sequences_api
from sdr_desk.webhooks.urls import api_urlpatterns as webhooks_api

api_v1 = [
    # The lead as the API shows it: intake's fields, enriched by scoring and routing, dispositions, then
    # qualification, then the handoff. An app that adds to the lead subclasses the last of these views and
    # takes these two routes.
    path("leads/", login_not_required(handoff_api_views.HandoffLeadCollectionApi.as_view()), name="api-leads"),
    path("leads/<int:pk>/", login_not_required(handoff_api_views.HandoffLeadDetailApi.as_view()),
         name="api-lead-detail"),
    *routing_api,
    *dispositions_api,
    *qualification_api,
    *webhooks_api,
    *handoff_api,
    *sequences_api,
    path("events/", login_not_required(api.EventCollectionApi.as_view()), name="api-events"),
]

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The schema answers keys and sessions alike (integrators build against it);
    # the interactive docs are a page, so they send anonymous visitors to sign in.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema", template_name="api_docs.html")),
         name="api-docs"),
    path("", include("sdr_desk.board.urls")),
    path("", include("inbound.urls")),
    path("", include("sdr_desk.routing.urls")),
    path("", include("sdr_desk.dispositions.urls")),
    path("", include("sdr_desk.qualification.urls")),
    path("", include("sdr_desk.handoff.urls")),
    path("", include("sdr_desk.sequences.urls")),
    path("", include("sdr_desk.reports.urls")),
    path("scoring/", include("scoring.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
]

# Every 403 and 404 inside the site's layout (templates/403.html, 404.html); a 500 renders templates/500.html.
handler403 = "sdr_desk.views.permission_denied"
handler404 = "sdr_desk.views.page_not_found"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
