"""The rep's pages: the board, a manager watching a rep's board, the leads list, the lead page and its actions."""

from django.urls import path

from sdr_desk.board import views, views_leads

urlpatterns = [
    path("", views.home, name="home"),
    path("board/", views.board, name="board"),
    path("board/preferences/", views.board_preferences, name="board-preferences"),
    path("board/reps/<int:user_id>/", views.rep_board, name="rep-board"),
    path("leads/", views_leads.lead_list, name="lead-list"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/claim/", views.lead_claim_view, name="lead-claim"),
    path("leads/<int:pk>/touches/", views.lead_touch_view, name="lead-touch"),
    path("leads/<int:pk>/next-step/", views.lead_next_step_view, name="lead-next-step"),
]
