"""Sending work to the background. At scale a Celery worker runs it (REDIS_URL set). In the embedded default
Celery runs tasks eagerly, in-process; a job an officer waits for (an export of a whole city) then runs in a
thread of the web process, so the page can show its progress instead of hanging. Either way the task is sent
only once the transaction that asked for it has committed, so it never sees (or misses) uncommitted rows."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections, transaction

log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _run_in_thread(task, args, kwargs):
    try:
        task.apply(args=args, kwargs=kwargs, throw=True)
    except Exception:  # noqa: BLE001 - the task records its own failure; this only keeps the pool alive
        log.exception("background task %s failed", task.name)
    finally:
        connections.close_all()


def submit(task, *args, **kwargs) -> None:
    """Queue `task` to run after the current transaction commits (at once outside a transaction)."""
    def send():
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            task.apply_async(args=args, kwargs=kwargs)
        elif settings.ZHIJIAO_EAGER_IN_THREAD:
            global _pool
            with _lock:
                _pool = _pool or ThreadPoolExecutor(max_workers=1, thread_name_prefix="zj-job")
            _pool.submit(_run_in_thread, task, args, kwargs)
        else:
            task.apply(args=args, kwargs=kwargs, throw=True)

    transaction.on_commit(send)
