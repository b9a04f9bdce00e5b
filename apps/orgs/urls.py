from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("staff/", views.staff_view, name="staff"),
    path("staff/<int:pk>/minor-access/", views.minor_access_view, name="minor_access"),
    path("password/", views.password_view, name="password"),
]
