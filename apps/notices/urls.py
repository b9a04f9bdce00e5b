from django.urls import path

from . import views

app_name = "notices"
urlpatterns = [
    path("", views.inbox_view, name="inbox"),
    path("<int:pk>/", views.notice_view, name="notice"),
    path("<int:pk>/document.pdf", views.notice_document_view, name="document"),
]
