from django.urls import path

from . import views

app_name = "supervision"
urlpatterns = [
    path("day/", views.day_view, name="day"),
    path("month/", views.month_view, name="month"),
    path("activities/", views.activities_view, name="activities"),
    path("settings/", views.settings_view, name="settings"),
    path("cases/<int:case_id>/record/<slug:kind>/", views.record_view, name="record"),
    path("cases/<int:case_id>/hours/", views.hours_view, name="hours"),
    path("cases/<int:case_id>/prohibition/", views.prohibition_view, name="prohibition"),
    path("cases/<int:case_id>/requests/new/", views.request_new_view, name="request_new"),
    path("records/<int:record_id>/review/", views.review_view, name="review"),
    path("records/<int:record_id>/correct/", views.correct_view, name="correct"),
    path("requests/", views.requests_view, name="requests"),
    path("requests/<int:pk>/", views.request_page, name="request"),
    path("requests/<int:pk>/act/<slug:code>/", views.request_act_view, name="request_act"),
    path("requests/<int:pk>/files/<int:attachment_id>/", views.attachment_view, name="attachment"),
]
