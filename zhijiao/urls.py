from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.views.i18n import set_language

from apps.api.api import api
from apps.orgs import views as org_views


def _public(urls):
    """The API authenticates every request with its bearer token, so LoginRequiredMiddleware lets it through."""
    patterns, app_name, namespace = urls

    def mark(items):
        for p in items:
            if isinstance(p, URLResolver):
                mark(p.url_patterns)
            elif isinstance(p, URLPattern):
                p.callback.login_required = False

    mark(patterns)
    return patterns, app_name, namespace


urlpatterns = [
    path("", org_views.login_view, name="login"),
    path("logout/", org_views.logout_view, name="logout"),
    path("healthz", org_views.healthz, name="healthz"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("orgs/", include("apps.orgs.urls")),
    path("people/", include("apps.people.urls")),
    path("audit/", include("apps.audit.urls")),
    path("api/v1/", _public(api.urls)),
]

handler404 = "zhijiao.errors.not_found"
handler403 = "zhijiao.errors.forbidden"
handler500 = "zhijiao.errors.server_error"
