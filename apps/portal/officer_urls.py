"""The officer's side of 信息化核查 and the phone accounts, mounted at /monitoring/ (apps.portal.officer)."""
from django.urls import path

from . import location_views as loc
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

# location monitoring (定位监控, apps.portal.location_views)
urlpatterns += [
    path("alerts/", loc.alerts_view, name="alerts"),
    path("alerts/<int:pk>/", loc.alert_view, name="alert"),
    path("alerts/<int:pk>/acknowledge/", loc.alert_ack_view, name="alert_ack"),
    path("alerts/<int:pk>/dispose/", loc.alert_dispose_view, name="alert_dispose"),
    path("map/", loc.map_view, name="map"),
    path("stats/", loc.stats_view, name="stats"),
    path("people/<int:pk>/track/", loc.track_view, name="track"),
    path("cases/<int:case_id>/orders/propose/", loc.order_propose_view, name="order_propose"),
    path("orders/<int:pk>/decide/", loc.order_decide_view, name="order_decide"),
    path("orders/<int:pk>/end/", loc.order_end_view, name="order_end"),
    path("cases/<int:case_id>/trackers/bind/", loc.tracker_bind_view, name="tracker_bind"),
    path("trackers/<int:pk>/unbind/", loc.tracker_unbind_view, name="tracker_unbind"),
    path("cases/<int:case_id>/fences/add/", loc.fence_add_view, name="fence_add"),
    path("fences/<int:pk>/retire/", loc.fence_retire_view, name="fence_retire"),
]
