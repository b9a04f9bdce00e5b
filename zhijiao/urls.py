from django.urls import include, path

from apps.api.api import api
from apps.orgs import views as org_views

urlpatterns = [
    path("", org_views.login_view, name="login"),
    path("logout/", org_views.logout_view, name="logout"),
    path("healthz", org_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("orgs/", include("apps.orgs.urls")),
    path("people/", include("apps.people.urls")),
    path("audit/", include("apps.audit.urls")),
    path("api/v1/", api.urls),
]

handler404 = "zhijiao.errors.not_found"
handler403 = "zhijiao.errors.forbidden"
handler500 = "zhijiao.errors.server_error"
