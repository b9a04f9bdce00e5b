"""Running the daily job once a day. At scale Celery beat calls the `cases.daily` task (ZHIJIAO_DAILY_JOBS="celery",
set with REDIS_URL); in the embedded default a daemon thread of the web process does it ("thread"), started by
the first request a process serves. Either way a day's run is claimed in the JobRun table first, so two processes
(or beat and a thread) never run the same day twice; and each thing the job raises is raised once anyway."""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import asdict
from datetime import date

from django.conf import settings
from django.db import IntegrityError, connections, transaction

log = logging.getLogger(__name__)
_lock = threading.Lock()
_running_in: int | None = None
_STEPS: list = []  # later apps' daily work (apps.supervision), run after the cases' own: (name, fn(today) -> dict)


_MOVED: list = []  # later apps' rows that carry the case's place and seal: fn(case=, before=, actor=, ip=)


def register_case_moved(fn) -> None:
    """An app above cases keeps its rows in step with the case (cases does not import it): called in the case's
    transaction whenever the case's office, county, level or seal changes."""
    if fn not in _MOVED:
        _MOVED.append(fn)


def case_moved(*, case, before: dict, actor=None, ip: str = "") -> None:
    for fn in _MOVED:
        fn(case=case, before=before, actor=actor, ip=ip)


def register_daily_step(name: str, fn) -> None:
    """An app above cases adds its daily work here (cases does not import it). Each step is its own transaction and
    raises each thing once, like the cases' own."""
    if name not in [n for n, _ in _STEPS]:
        _STEPS.append((name, fn))


def _all(today: date) -> dict:
    from .services import cases_daily

    result = asdict(cases_daily(today=today))
    failed = []
    for name, fn in _STEPS:
        try:
            result.update({f"{name}.{k}": v for k, v in fn(today).items()})
        except Exception:  # noqa: BLE001 - one app's failure must not stop the others' work
            log.exception("daily step %s failed", name)
            failed.append(name)
    if failed:  # the day's claim is given back and the next look runs it again (each thing is raised once)
        raise RuntimeError(f"daily steps failed: {', '.join(failed)}")
    return result


def run_daily(today: date | None = None, *, force: bool = False) -> dict:
    from apps.people.services import today_local

    from .models import JobRun

    today = today or today_local()
    if force:  # each thing the job raises is raised once anyway; the claim only spares the work
        return _all(today)
    try:
        with transaction.atomic():
            run = JobRun.objects.create(job="cases.daily", day=today)
    except IntegrityError:
        return {"skipped": 1}
    try:
        result = _all(today)
    except Exception:
        JobRun.objects.filter(pk=run.pk).delete()  # the next look (ten minutes later) tries again
        raise
    JobRun.objects.filter(pk=run.pk).update(result=result)
    return result


def ensure_running() -> None:
    global _running_in
    if settings.ZHIJIAO_DAILY_JOBS != "thread" or _running_in == os.getpid():
        return
    with _lock:
        if _running_in == os.getpid():
            return
        threading.Thread(target=_loop, name="cases-daily", daemon=True).start()
        _running_in = os.getpid()


def _loop() -> None:
    while True:
        try:
            run_daily()
        except Exception:  # noqa: BLE001 - try again at the next look
            log.exception("daily case job failed")
        finally:
            connections.close_all()
        time.sleep(600)  # look every ten minutes whether today's run is done


class DailyJobsMiddleware:
    """Starts the embedded daily thread with the first request this process serves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ensure_running()
        return self.get_response(request)
