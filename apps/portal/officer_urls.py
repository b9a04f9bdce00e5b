"""The officer's side of 信息化核查 and the phone accounts, mounted at /monitoring/ (apps.portal.officer)."""
from django.urls import path

from . import officer

app_name = "monitoring"
urlpatterns: list = [
    path("", officer.index_view, name="index"),
    path("people/<int:pk>/code/", officer.code_issue_view, name="code"),
    path("people/<int:pk>/enrol/", officer.enrol_view, name="enrol"),
    path("people/<int:pk>/message/", officer.message_view, name="message"),
    path("devices/<int:device_id>/decide/", officer.device_decide_view, name="device"),
    path("verifications/<int:pk>/review/", officer.review_view, name="review"),
    path("verifications/<int:pk>/photo/", officer.photo_view, name="photo"),
    path("cases/<int:case_id>/spot-check/", officer.spot_check_issue_view, name="spot_check"),
    path("spot-checks/<int:pk>/dispose/", officer.spot_check_dispose_view, name="dispose"),
]
