from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("work/", views.work_view, name="work"),
    path("<int:case_id>/act/<slug:code>/", views.transition_view, name="act"),
]
