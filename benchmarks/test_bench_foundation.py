"""The foundation's hot paths: the supervisee list page with 2,000 people, checking an import sheet,
and walking the audit chain."""
import hashlib
import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.audit import rules as audit_rules
from apps.audit.models import AuditRecord
from apps.audit.services import audit_verify
from apps.orgs.models import User
from apps.people import rules
from apps.people.models import Supervisee
from apps.people.services import today_local
from apps.people.sheets import check_rows

pytestmark = pytest.mark.django_db


def _median(fn, n=15):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _client(username):
    c = Client()
    c.force_login(User.objects.get(username=username))
    return c


@pytest.mark.parametrize("username,query", [
    ("city", ""),  # the whole city: 2,000 people
    ("city", "?type=probation&level=normal&sort=-end&page=5"),
    ("city", "?q=王"),
    ("donghu", "?per=100"),
])
def test_list_page(benchmark, ratio, username, query):
    c = _client(username)
    assert Supervisee.objects.count() >= 2000
    with CaptureQueriesContext(connection) as q:
        resp = c.get("/people/" + query)
    assert resp.status_code == 200
    n_queries = len(q.captured_queries)  # read now: the next request resets the connection's query log
    assert n_queries <= 15
    baseline = _median(lambda: c.get("/healthz"))  # the same stack, no work
    benchmark.extra_info["queries"] = n_queries
    result = benchmark.pedantic(lambda: c.get("/people/" + query), rounds=20, iterations=1)
    assert result.status_code == 200
    ratio(f"list page {username} {query or '(all)'} [{n_queries} queries]",
          benchmark.stats.stats.median, baseline)


def test_detail_page(benchmark, ratio):
    c = _client("donghu")
    s = Supervisee.objects.filter(judicial_office__parent__short_name="东湖区", is_minor=False).first()
    baseline = _median(lambda: c.get("/healthz"))
    benchmark.pedantic(lambda: c.get(f"/people/{s.pk}/"), rounds=20, iterations=1)
    ratio("detail page", benchmark.stats.stats.median, baseline)


def test_import_check_2000_rows(benchmark, ratio):
    """Checking a 2,000-row sheet (every rule, duplicate IDs) against parsing the ID numbers alone."""
    officer = User.objects.get(username="city")
    fields = ["name", "gender", "ethnicity", "id_number", "phone", "household_address", "residence_address",
              "sentence_type", "deciding_organ_name", "judgment_number", "crime", "original_penalty", "judgment_date",
              "effective_date", "term_months", "detention_days", "release_date", "sentence_end_date"]
    people = list(Supervisee.objects.select_related("judicial_office")[:2000])
    rows = []
    for i, s in enumerate(people):
        row = {f: getattr(s, f) for f in fields}
        row["judicial_office"] = s.judicial_office.name
        # new people: change the sequence digits and recompute the check digit so IDs are fresh
        first17 = s.id_number[:14] + f"{(int(s.id_number[14:17]) + 500) % 1000:03d}"
        row["id_number"] = first17 + rules.id_check_digit(first17)
        rows.append((i + 2, row))
    today = today_local()
    baseline = _median(lambda: [rules.parse_id_number(r["id_number"], today=today) for _, r in rows], n=5)
    problems = benchmark.pedantic(lambda: check_rows(rows, actor=officer, today=today), rounds=3, iterations=1)
    ratio("import check, 2,000 rows", benchmark.stats.stats.median, baseline)
    assert len(problems) < 50  # a few generated rows collide on purpose-free chance; the rest pass


def test_audit_verify(benchmark, ratio):
    n = AuditRecord.objects.count()
    recs = list(AuditRecord.objects.order_by("seq"))
    payloads = [audit_rules.canonical(r.hashed_fields()) for r in recs]
    baseline = _median(lambda: [hashlib.sha256(p).hexdigest() for p in payloads], n=5)
    count, brk = benchmark.pedantic(audit_verify, rounds=3, iterations=1)
    assert brk is None and count == n
    ratio(f"audit_verify, {n} records", benchmark.stats.stats.median, baseline)
