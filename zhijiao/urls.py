from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from apps.api.api import api
from apps.orgs import views as org_views


READ_ONLY_API = {"openapi-json", "openapi-view", "api-root"}


def _public(urls):
    """The API authenticates every request with its bearer token, so LoginRequiredMiddleware lets it through.
    Its schema and docs pages answer GET only."""
    patterns, app_name, namespace = urls

    def mark(items):
        for p in items:
            if isinstance(p, URLResolver):
                mark(p.url_patterns)
            elif isinstance(p, URLPattern):
                if p.name in READ_ONLY_API:
                    p.callback = require_GET(p.callback)
                p.callback.login_required = False

    mark(patterns)
    return patterns, app_name, namespace


urlpatterns = [
    path("", org_views.login_view, name="login"),
    path("logout/", org_views.logout_view, name="logout"),
    path("healthz", org_views.healthz, name="healthz"),
    path("i18n/setlang/", login_not_required(require_POST(set_language)), name="set_language"),
    path("orgs/", include("apps.orgs.urls")),
    path("people/", include("apps.people.urls")),
    path("cases/", include("apps.cases.urls")),
    path("supervision/", include("apps.supervision.urls")),
    path("documents/", include("apps.documents.urls")),
    path("notices/", include("apps.notices.urls")),
    path("audit/", include("apps.oversight.urls")),
    path("monitoring/", include("apps.portal.officer_urls")),
    path("m/", include("apps.portal.urls")),
    path("api/v1/", _public(api.urls)),
]

handler404 = "zhijiao.errors.not_found"
handler403 = "zhijiao.errors.forbidden"
handler500 = "zhijiao.errors.server_error"
