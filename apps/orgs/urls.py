from django.urls import path

from . import views

app_name = "orgs"
urlpatterns = [
    path("staff/", views.staff_view, name="staff"),
]
