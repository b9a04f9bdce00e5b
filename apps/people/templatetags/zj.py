from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from apps.people import rules

register = template.Library()


@register.filter
def level_badge(code: str):
    label = rules.LEVEL_LABELS.get(rules.Level(code)) if code in rules.LEVEL_LABELS else code
    return format_html('<span class="lvl lvl-{}">{}</span>', code, _(label))


@register.filter
def sentence_label(code: str) -> str:
    return _(rules.SENTENCE_LABELS.get(code, code)) if code in rules.SENTENCE_LABELS else code


@register.filter
def status_label(code: str) -> str:
    return _(rules.STATUS_LABELS.get(code, code)) if code in rules.STATUS_LABELS else code


@register.filter
def status_badge(code: str):
    colour = {"active": "success", "pending": "warning", "released": "secondary", "terminated": "dark"}.get(code, "light")
    return format_html('<span class="badge text-bg-{} fw-normal">{}</span>', colour, status_label(code))


@register.filter
def gender_label(code: str) -> str:
    return {"M": _("男"), "F": _("女")}.get(code, "")


@register.simple_tag
def sort_link(current: str, key: str, label: str, base: str):
    """A sortable column header: first click ascending, second descending."""
    new = f"-{key}" if current == key else key
    arrow = " ▲" if current == key else (" ▼" if current == f"-{key}" else "")
    sep = "&" if base else ""
    return format_html('<a class="sort" href="?{}{}sort={}">{}{}</a>', base, sep, new, _(label), arrow)


@register.filter
def per_query(querystring: str, n) -> str:
    """The list's query string with the page size set to n (and back to the first page)."""
    from django.http import QueryDict

    q = QueryDict(querystring, mutable=True)
    q["per"] = str(n)
    return q.urlencode()
