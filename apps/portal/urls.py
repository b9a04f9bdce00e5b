"""The supervisee's phone portal, mounted at /m/ (apps.portal.views)."""
from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.today_view, name="today"),
    path("login/", views.login_view, name="login"),
    path("pending/", views.pending_view, name="pending"),
    path("logout/", views.logout_view, name="logout"),
    path("checkin/", views.checkin_view, name="checkin"),
    path("thought/", views.thought_view, name="thought"),
    path("leave/", views.leave_list_view, name="leave"),
    path("leave/new/", views.leave_new_view, name="leave_new"),
    path("leave/<int:pk>/", views.leave_detail_view, name="leave_detail"),
    path("study/", views.study_view, name="study"),
    path("messages/", views.messages_view, name="messages"),
    path("me/", views.me_view, name="me"),
    path("documents/<int:pk>/", views.document_view, name="document"),
    path("api/ping", views.api_ping, name="api_ping"),
    path("api/fix", views.api_fix, name="api_fix"),
    path("api/challenge", views.api_challenge, name="api_challenge"),
    path("api/verify", views.api_verify, name="api_verify"),
    path("api/thought", views.api_thought, name="api_thought"),
    path("manifest.webmanifest", views.manifest_view, name="manifest"),
    path("sw.js", views.service_worker_view, name="sw"),
    path("offline/", views.offline_view, name="offline"),
]
