from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from inbound import api
from sdr_desk import api as desk_api
from sdr_desk import views

api_v1 = [
    path("leads/", login_not_required(desk_api.DeskLeadCollectionApi.as_view()), name="api-leads"),
    path("leads/<int:pk>/", login_not_required(desk_api.DeskLeadDetailApi.as_view()), name="api-lead-detail"),
    path("events/", login_not_required(api.EventCollectionApi.as_view()), name="api-events"),
    path("leads/<int:pk>/claim/", login_not_required(desk_api.LeadClaimApi.as_view()), name="api-lead-claim"),
    path("leads/<int:pk>/touches/", login_not_required(desk_api.LeadTouchApi.as_view()), name="api-lead-touches"),
    path("leads/<int:pk>/next-step/", login_not_required(desk_api.LeadNextStepApi.as_view()),
         name="api-lead-next-step"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("board/", views.board, name="board"),
    path("board/preferences/", views.board_preferences, name="board-preferences"),
    path("board/reps/<int:user_id>/", views.rep_board, name="rep-board"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The schema answers keys and sessions alike (integrators build against it);
    # the interactive docs are a page, so they send anonymous visitors to sign in.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/claim/", views.lead_claim_view, name="lead-claim"),
    path("leads/<int:pk>/touches/", views.lead_touch_view, name="lead-touch"),
    path("leads/<int:pk>/next-step/", views.lead_next_step_view, name="lead-next-step"),
    path("", include("inbound.urls")),
    path("", include("sdr_desk.urls_manage")),
    path("scoring/", include("scoring.urls")),
    path("healthz", views.healthz, name="healthz"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
