from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("staff/", views.staff_view, name="staff"),
    path("staff/new/", views.staff_create_view, name="staff_create"),
    path("staff/<int:pk>/minor-access/", views.minor_access_view, name="minor_access"),
    path("staff/<int:pk>/active/", views.staff_active_view, name="staff_active"),
    path("staff/<int:pk>/unlock/", views.staff_unlock_view, name="staff_unlock"),
    path("staff/<int:pk>/password-reset/", views.staff_password_reset_view, name="staff_password_reset"),
    path("password/", views.password_view, name="password"),
]
