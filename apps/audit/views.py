from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.orgs.rules import Action
from apps.orgs.selectors import restrict

from .models import AuditRecord


@require_GET
def audit_list_view(request):
    if not request.user.can(Action.AUDIT_VIEW):
        raise Http404
    qs = restrict(AuditRecord.objects.select_related("actor"), request.user, Action.AUDIT_VIEW).order_by("-id")
    kind = request.GET.get("kind", "")
    if kind in AuditRecord.Kind.values:
        qs = qs.filter(kind=kind)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "audit/list.html", {"page": page, "kind": kind, "kinds": AuditRecord.Kind.choices,
                                               "active_nav": "audit"})
