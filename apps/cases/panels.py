"""The record page's 案件 tab, filled through apps.people.extensions (people does not import cases)."""
from __future__ import annotations

from apps.people.services import today_local

from . import rules
from .selectors import case_view, transfer_counties
from .services import DOCUMENT_KINDS


def case_panel(request, person):
    today = today_local()
    cv = case_view(person=person, user=request.user, today=today)
    return "cases/_case_panel.html", {
        "cv": cv, "today": today, "document_kinds": DOCUMENT_KINDS, "date_fields": DATE_FIELDS,
        "status_labels": rules.STATUS_LABELS, "end_labels": rules.END_LABELS,
        "transfer_stages": rules.TRANSFER_STAGE_LABELS, "rare": rules.RARE,
        "rare_actions": [t for t in cv.actions if t.code in rules.RARE] if cv else [],
        "counties": transfer_counties(exclude=cv.case.execution_county_id) if cv else [],
    }


DATE_FIELDS = {"notice_date": "收到通知日期", "documents_date": "收到法律文书日期", "reported_date": "报到日期",
               "announced_date": "宣告日期", "end_date": "日期", "proposal_date": "提请日期",
               "lost_since": "失去联系日期"}


def documents_panel(request, person):
    from apps.documents.selectors import documents_of

    from .selectors import person_cases

    cases = person_cases(person=person)
    docs = []
    for c in cases:
        docs += [(c, d) for d in documents_of(user=request.user, object_type="case", object_id=c.pk)]
    return "cases/_documents_panel.html", {"doc_rows": docs, "doc_cases": cases}
