"""The benchmarks on one database (run by benchmarks/run.py, once on SQLite and once on PostgreSQL).

On a province-sized demo (100,000 supervisees, seeded once into var/bench/ and kept): the list pages of the
city and of a county (first, filtered, searched, deep by keyset, last), the detail page, an import of 5,000 rows
held open while another county reads, and on PostgreSQL the audit log's cost under 8 concurrent clients
(durable commits): a real service (supervisee update) with and without its audit record, and the detail page
with and without its read log, a sealer running beside them as in production. The case pages: 我的待办 for the
city, a county and an office, a case tab, a document as PDF and Word, a case file, a rerun of the daily job.
Daily supervision: an office's day and month, a record's 报到与走访 tab, the supervision daily job first and again
(beside the cases' daily job as its baseline). Every figure comes with a baseline
measured in the same run. Prints one JSON object."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijiao.settings")
os.environ["ZHIJIAO_AUDIT_SEALER"] = "off"  # the benchmark runs its own sealer process where one belongs

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from apps.orgs.models import User  # noqa: E402
from apps.people.models import Supervisee  # noqa: E402

COUNT = int(os.environ.get("ZHIJIAO_BENCH_COUNT", 100_000))
SECONDS = float(os.environ.get("ZHIJIAO_BENCH_SECONDS", 6))


def median_ms(fn, n=15, warm=2) -> float:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def ensure_seeded(out: dict) -> None:
    call_command("migrate", verbosity=0)
    have = Supervisee.objects.count()
    if have >= COUNT:
        return
    if have:
        raise SystemExit(f"the bench database holds {have} supervisees, fewer than {COUNT}: delete it and run again")
    t0 = time.perf_counter()
    call_command("seed_demo", "--count", str(COUNT), "--quiet")
    out["seed_s"] = round(time.perf_counter() - t0, 1)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def client(username: str) -> Client:
    c = Client()
    c.force_login(User.objects.get(username=username))
    c.get("/healthz")
    c.get("/people/")  # the session's refresh and the count cache are not what is measured
    return c


def _get(c, url):
    r = c.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r


def lists(out: dict) -> None:
    city, county = client("city"), client("donghu")
    out["healthz_ms"] = median_ms(lambda: _get(city, "/healthz"))
    out["list_city_ms_100k"] = median_ms(lambda: _get(city, "/people/"))
    out["list_city_filtered_ms_100k"] = median_ms(lambda: _get(city, "/people/?type=probation&level=normal&sort=-end"))
    out["list_city_search_name_ms_100k"] = median_ms(lambda: _get(city, "/people/?q=%E7%8E%8B"))  # 王
    out["list_city_search_id_tail_ms_100k"] = median_ms(lambda: _get(city, "/people/?q=0517"))
    out["list_city_by_office_ms_100k"] = median_ms(lambda: _get(city, "/people/?sort=office"))
    out["list_city_by_name_ms_100k"] = median_ms(lambda: _get(city, "/people/?sort=name&page=2"))
    out["list_city_last_page_ms_100k"] = median_ms(lambda: _get(city, "/people/?last=1"))
    out["list_county_ms_100k"] = median_ms(lambda: _get(county, "/people/"))
    out["list_county_last_page_ms_100k"] = median_ms(lambda: _get(county, "/people/?last=1"))
    # a page deep inside the county's list, reached as an officer reaches it: "next" from the page before
    from apps.people.selectors import PageRequest, SuperviseeFilters, supervisee_page

    user = User.objects.get(username="donghu")
    total = supervisee_page(fetched_by=user, filters=SuperviseeFilters(), request=PageRequest(), summary="bench")[0]
    deep = max(1, total.num_pages - 3)
    page, _ = supervisee_page(fetched_by=user, filters=SuperviseeFilters(), request=PageRequest(page=deep - 1),
                              summary="bench")
    url = f"/people/?after={page.next_cursor}&p={deep}"
    out["list_county_deep_page_ms_100k"] = median_ms(lambda: _get(county, url))
    out["list_county_offset_page_20_ms_100k"] = median_ms(lambda: _get(county, "/people/?page=20"))
    s = Supervisee.objects.filter(judicial_office__parent__short_name="东湖区", is_minor=False).first()
    out["detail_ms_100k"] = median_ms(lambda: _get(county, f"/people/{s.pk}/"))
    out["county_people_100k"] = total.count


# --- the case lifecycle: the work page, the case tab, documents, the daily job -----------------------------------
def cases_pages(out: dict) -> None:
    from apps.cases import services as case_services
    from apps.cases import workdays
    from apps.cases.models import Case, Task
    from apps.documents.models import Document

    city, county, office = client("city"), client("donghu"), client("office")
    for c in (city, county, office):
        c.get("/cases/work/")
    out["work_city_ms_100k"] = median_ms(lambda: _get(city, "/cases/work/"))
    out["work_county_ms_100k"] = median_ms(lambda: _get(county, "/cases/work/"))
    out["work_county_overdue_ms_100k"] = median_ms(lambda: _get(county, "/cases/work/?b=overdue"))
    out["work_office_ms_100k"] = median_ms(lambda: _get(office, "/cases/work/"))
    out["open_tasks_100k"] = Task.objects.filter(state="open").count()
    case = (Case.objects.filter(execution_county__short_name="东湖区", is_minor=False, status="active")
            .exclude(events__code="open", events__to_status="active").order_by("-id").first()
            or Case.objects.filter(execution_county__short_name="东湖区", is_minor=False).order_by("-id").first())
    out["case_tab_ms_100k"] = median_ms(lambda: _get(county, f"/people/{case.person_id}/?tab=case"))
    out["documents_tab_ms_100k"] = median_ms(lambda: _get(county, f"/people/{case.person_id}/?tab=documents"))
    doc = Document.objects.filter(doc_type="announcement", is_minor=False, agency__short_name="东湖区").first()
    if doc is not None:
        out["document_pdf_ms"] = median_ms(lambda: _get(county, f"/documents/{doc.pk}.pdf"), n=5, warm=1)
        out["document_docx_ms"] = median_ms(lambda: _get(county, f"/documents/{doc.pk}.docx"), n=5, warm=1)
        filed = Case.objects.get(pk=int(doc.object_id))
        out["case_file_pdf_ms"] = median_ms(lambda: _get(county, f"/cases/{filed.pk}/file.pdf"), n=3, warm=1)
    t0 = time.perf_counter()
    case_services.cases_daily()
    out["daily_job_rerun_s_100k"] = time.perf_counter() - t0  # every case scanned, nothing raised twice
    cal = case_services.calendar()
    from datetime import date, timedelta

    start = date(2026, 9, 20)
    n = 20000
    t0 = time.perf_counter()
    for i in range(n):
        workdays.add_workdays(cal, start + timedelta(days=i % 90), 10)
    per = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(n):
        start + timedelta(days=i % 90) + timedelta(days=14)
    base = (time.perf_counter() - t0) / n
    out["workdays_add10_per_s"] = 1 / per
    out["workdays_add10_to_calendar_add"] = per / base


# --- daily supervision: the office's day and month, a person's tab, the daily job over the province ---------------
def supervision(out: dict) -> None:
    from apps.cases import services as case_services
    from apps.cases.models import Case
    from apps.supervision import services as sv
    from apps.supervision.models import Fact

    office = client("office")
    out["supervision_day_office_ms_100k"] = median_ms(lambda: _get(office, "/supervision/day/"))
    out["supervision_month_office_ms_100k"] = median_ms(lambda: _get(office, "/supervision/month/"))
    c = Case.objects.filter(judicial_office__staff__username="office", is_open=True, is_minor=False).first()
    if c is not None:
        out["checkins_tab_ms_100k"] = median_ms(lambda: _get(office, f"/people/{c.person_id}/?tab=checkins"))
    # the baseline: the cases' own daily job over the same cases, in the same run
    t0 = time.perf_counter()
    case_services.cases_daily()
    base = time.perf_counter() - t0
    today = case_services.today_local()
    before = Fact.objects.count()
    t0 = time.perf_counter()
    sv.supervision_daily(today)  # the first run after seeding raises what the demo's people have missed
    out["supervision_daily_first_s_100k"] = time.perf_counter() - t0
    out["supervision_facts_raised_first_run"] = Fact.objects.count() - before
    t0 = time.perf_counter()
    sv.supervision_daily(today)  # every day after: every case judged again, nothing raised twice
    out["supervision_daily_rerun_s_100k"] = time.perf_counter() - t0
    out["supervision_daily_rerun_to_cases_daily"] = out["supervision_daily_rerun_s_100k"] / max(base, 1e-9)
    out["supervision_cases_judged_per_s"] = Case.objects.filter(is_open=True).count() / max(
        out["supervision_daily_rerun_s_100k"], 1e-9)


# --- import held open while another county reads ---------------------------------------------------------
def _new_rows(n: int):
    from apps.orgs import places
    from apps.orgs.models import Organisation
    from apps.people import demo

    plan = places.org_plan(str(django.conf.settings.SHARED_DATA_DIR))
    known = set(Supervisee.objects.values_list("id_number", flat=True))
    offices = {o.adcode: o for o in Organisation.objects.filter(kind="judicial_office", adcode__startswith="360102")}
    rows = []
    for p in demo.iter_people(plan, count=n * 3, seed=777, data_dir=str(django.conf.settings.SHARED_DATA_DIR)):
        if p["county"] != "360102" or p["data"]["id_number"] in known:
            continue
        rows.append((len(rows) + 2, {**p["data"], "judicial_office": offices[p["office"]]}))
        if len(rows) == n:
            break
    return rows


class _Rollback(Exception):
    pass


def _reader(url: str, username: str, stop, q):
    connections.close_all()
    c = client(username)
    worst, n = 0.0, 0
    while not stop.is_set():
        t0 = time.perf_counter()
        assert c.get(url).status_code == 200
        worst = max(worst, time.perf_counter() - t0)
        n += 1
        time.sleep(0.02)
    q.put((worst * 1000, n))


def import_while_reading(out: dict) -> None:
    """A 5,000-row import by one county (one transaction, rolled back at the end so the database stays as it is)
    while an officer of another county opens a record every 20 ms: how long the slowest of those reads took."""
    from apps.people.services import supervisee_bulk_create

    rows = _new_rows(5000)
    actor = User.objects.get(username="donghu")
    other = Supervisee.objects.filter(judicial_office__parent__short_name="西湖区", is_minor=False).first()
    ctx = mp.get_context("fork")
    stop, q = ctx.Event(), ctx.Queue()
    connections.close_all()
    reader = ctx.Process(target=_reader, args=(f"/people/{other.pk}/", "xihu", stop, q))
    reader.start()
    time.sleep(1.0)
    from apps.orgs.testing import TODAY

    t0 = time.perf_counter()
    try:
        with transaction.atomic():
            supervisee_bulk_create(actor=actor, rows=rows, today=TODAY)
            out["import_5000_rows_s"] = round(time.perf_counter() - t0, 2)
            time.sleep(0.5)
            raise _Rollback
    except _Rollback:
        pass
    time.sleep(0.5)
    stop.set()
    worst, n = q.get(timeout=60)
    reader.join(10)
    out["detail_worst_ms_during_import"] = round(worst, 1)
    out["detail_reads_during_import"] = n


# --- the audit log under 8 concurrent clients (PostgreSQL) -------------------------------------------------
def _sealer(stop):
    connections.close_all()
    from apps.audit.services import audit_seal

    while not stop.is_set():
        audit_seal()
        time.sleep(2)


def _writer(audited: bool, who: tuple[str, int], seconds: float, start, q):
    connections.close_all()
    from apps.people import services

    if not audited:
        services.audit_record = lambda **kw: None  # the same update, without its record
    username, supervisee_id = who
    actor = User.objects.get(username=username)
    s = Supervisee.objects.get(pk=supervisee_id)
    phones = ("13807910001", "13807910002")
    start.wait()
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        services.supervisee_update(actor=actor, supervisee=s, data={"phone": phones[n % 2]})
        n += 1
    q.put(n)


def _reader_loop(logged: bool, who: tuple[str, int], seconds: float, start, q):
    connections.close_all()
    from apps.people import selectors

    if not logged:
        selectors.audit_view = lambda **kw: None  # the same page, without its read log
    username, supervisee_id = who
    c = client(username)
    url = f"/people/{supervisee_id}/"
    c.get(url)
    start.wait()
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        c.get(url)
        n += 1
    q.put(n)


def _run_clients(target, flag: bool, clients: int, ids: list[int]) -> float:
    ctx = mp.get_context("fork")
    start, q, stop = ctx.Event(), ctx.Queue(), ctx.Event()
    connections.close_all()
    procs = [ctx.Process(target=target, args=(flag, ids[i], SECONDS, start, q)) for i in range(clients)]
    sealer = ctx.Process(target=_sealer, args=(stop,)) if flag else None
    for p in procs:
        p.start()
    if sealer:
        sealer.start()
    time.sleep(1.5)
    start.set()
    total = sum(q.get(timeout=SECONDS + 120) for _ in procs)
    for p in procs:
        p.join(30)
    if sealer:
        stop.set()
        sealer.join(30)
    return total / SECONDS


ROUNDS = int(os.environ.get("ZHIJIAO_BENCH_ROUNDS", 3))


def audit_throughput(out: dict) -> None:
    """8 officers of 8 judicial offices, each on a person of their office (as 8 concurrent clients are), with and
    without the audit record, alternating, ROUNDS times; the medians are reported (this machine's fsync varies)."""
    from apps.orgs.models import Organisation

    who = []
    for office in Organisation.objects.filter(kind="judicial_office", parent__short_name="东湖区").order_by("adcode"):
        s = Supervisee.objects.filter(judicial_office=office, is_minor=False).first()
        if s:
            who.append((f"staff_{office.adcode}", s.pk))
    who = who[:8]
    for clients in (1, 8):
        runs = {k: [] for k in ("unaudited_w", "audited_w", "unlogged_r", "logged_r")}
        for _ in range(ROUNDS):
            runs["unaudited_w"].append(_run_clients(_writer, False, clients, who))
            runs["audited_w"].append(_run_clients(_writer, True, clients, who))
            runs["unlogged_r"].append(_run_clients(_reader_loop, False, clients, who))
            runs["logged_r"].append(_run_clients(_reader_loop, True, clients, who))
        m = {k: statistics.median(v) for k, v in runs.items()}
        out[f"unaudited_writes_per_s_{clients}"] = m["unaudited_w"]
        out[f"audited_writes_per_s_{clients}"] = m["audited_w"]
        out[f"unlogged_reads_per_s_{clients}"] = m["unlogged_r"]
        out[f"logged_reads_per_s_{clients}"] = m["logged_r"]
        out[f"audited_to_unaudited_writes_{clients}"] = m["audited_w"] / m["unaudited_w"]
        out[f"logged_to_unlogged_reads_{clients}"] = m["logged_r"] / m["unlogged_r"]


def verify(out: dict) -> None:
    import hashlib

    from apps.audit import rules
    from apps.audit.models import AuditRecord
    from apps.audit.services import audit_seal, audit_verify

    audit_seal()
    t0 = time.perf_counter()
    r = audit_verify(full=True, record=False)
    elapsed = time.perf_counter() - t0
    assert r.broken is None, r.broken
    sample = [rules.canonical(x.hashed_fields()) for x in AuditRecord.objects.order_by("-id")[:20000]]
    t1 = time.perf_counter()
    for p in sample:
        hashlib.sha256(p).hexdigest()
    hash_only = (time.perf_counter() - t1) / len(sample)
    out["audit_verify_records"] = r.checked
    out["audit_verify_records_per_s"] = r.checked / elapsed
    out["audit_verify_to_bare_sha256"] = (elapsed / r.checked) / hash_only


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    out: dict = {}
    ensure_seeded(out)
    lists(out)
    cases_pages(out)
    supervision(out)
    import_while_reading(out)
    if connection.vendor == "postgresql" and not args.skip_throughput:
        audit_throughput(out)
    verify(out)
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
