from django.conf import settings

from .rules import Action


def console(request):
    """What the console's frame needs: the user's organisation and the navigation they may use."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"VERSION": settings.VERSION}
    nav = []
    if user.can(Action.SUPERVISEE_VIEW):
        nav.append(("work", "我的待办", "bi-list-check", "/cases/work/"))
        nav.append(("investigations", "调查评估", "bi-clipboard-check", "/cases/investigations/"))
        nav.append(("people", "社区矫正对象", "bi-people", "/people/"))
        nav.append(("supervision", "日常监管", "bi-calendar-check", "/supervision/day/"))
        nav.append(("approvals", "审批事项", "bi-signpost-split", "/supervision/requests/"))
        nav.append(("notices", "通知", "bi-bell", "/notices/"))
    if user.can(Action.SUPERVISEE_VIEW) or user.can(Action.DEADLINE_SET):
        nav.append(("deadlines", "期限与节假日", "bi-calendar-week", "/cases/deadlines/"))
        nav.append(("rule_settings", "本省监管规则", "bi-sliders", "/supervision/settings/"))
    if user.can(Action.STAFF_VIEW):
        nav.append(("staff", "机构与人员", "bi-diagram-3", "/orgs/staff/"))
    if user.can(Action.AUDIT_VIEW):
        nav.append(("audit", "审计日志", "bi-shield-check", "/audit/"))
    return {"VERSION": settings.VERSION, "nav_items": nav, "current_org": user.organisation}
