from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("work/", views.work_view, name="work"),
    path("<int:case_id>/act/<slug:code>/", views.transition_view, name="act"),
    path("<int:case_id>/judgment/", views.judgment_view, name="judgment"),
    path("<int:case_id>/file.pdf", views.case_file_view, name="file"),
    path("<int:case_id>/transfer/", views.transfer_view_page, name="transfer"),
    path("deadlines/", views.deadlines_view, name="deadlines"),
    path("investigations/", views.investigation_list_view, name="investigations"),
    path("investigations/<int:pk>/", views.investigation_detail_view, name="investigation"),
    path("investigations/<int:pk>/act/<slug:code>/", views.investigation_act_view, name="investigation_act"),
]
