from django.urls import path

from inbound import views_forms, views_imports

urlpatterns = [
    path("f/<slug:slug>/", views_forms.hosted_form, name="hosted-form"),
    path("forms/", views_forms.form_list, name="form-list"),
    path("imports/", views_imports.import_list, name="import-list"),
    path("imports/new/", views_imports.import_new, name="import-new"),
    path("imports/<int:pk>/mapping/", views_imports.import_mapping, name="import-mapping"),
    path("imports/<int:pk>/", views_imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views_imports.import_progress, name="import-progress"),
]
