from django.urls import path

from . import views

app_name = "people"
urlpatterns = [
    path("", views.supervisee_list_view, name="list"),
    path("export/", views.supervisee_export_view, name="export"),
    path("exports/<int:pk>/", views.export_job_view, name="export_job"),
    path("exports/<int:pk>/download/", views.export_job_download_view, name="export_download"),
    path("new/", views.supervisee_create_view, name="create"),
    path("import/", views.import_view, name="import"),
    path("import/confirm/", views.import_confirm_view, name="import_confirm"),
    path("import/template.xlsx", views.import_template_view, name="import_template"),
    path("<int:pk>/", views.supervisee_detail_view, name="detail"),
    path("<int:pk>/edit/", views.supervisee_edit_view, name="edit"),
    path("<int:pk>/photo/", views.supervisee_photo_view, name="photo"),
    path("<int:pk>/contacts/", views.contact_add_view, name="contact_add"),
    path("<int:pk>/team/", views.team_add_view, name="team_add"),
    path("<int:pk>/team/<int:member_id>/remove/", views.team_remove_view, name="team_remove"),
]
