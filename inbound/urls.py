from django.urls import path

from inbound import views_forms, views_imports

urlpatterns = [
    path("f/<slug:slug>/", views_forms.hosted_form, name="hosted-form"),
    path("forms/", views_forms.form_list, name="form-list"),
    path("forms/new/", views_forms.form_new, name="form-new"),
    path("forms/<int:pk>/edit/", views_forms.form_edit, name="form-edit"),
    path("imports/", views_imports.import_list, name="import-list"),
    path("imports/new/", views_imports.import_new, name="import-new"),
    path("imports/<int:pk>/mapping/", views_imports.import_mapping, name="import-mapping"),
    path("imports/<int:pk>/", views_imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views_imports.import_progress, name="import-progress"),
    path("imports/<int:pk>/leads/", views_imports.import_leads, name="import-leads"),
    path("imports/<int:pk>/rejected.csv", views_imports.import_rejected_csv, name="import-rejected-csv"),
]
