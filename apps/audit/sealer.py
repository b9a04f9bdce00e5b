"""The in-process sealer of the embedded default: one daemon thread per process that runs `audit_seal` every
AUDIT_SEAL_SECONDS, and the chain check when it is due (daily, and in full weekly). It starts with the first audit record a process writes (so `migrate` and other commands
that write nothing never start it). At scale, AUDIT_SEALER="celery" and Celery beat runs the `audit.seal` task
instead; several sealers at once are safe (they exclude each other through the chain head)."""
from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)
_lock = threading.Lock()
_running_in: int | None = None  # the pid that owns the thread: a forked child starts its own


def ensure_running() -> None:
    global _running_in
    pid = os.getpid()
    if _running_in == pid:
        return
    with _lock:
        if _running_in == pid:
            return
        threading.Thread(target=_loop, name="audit-sealer", daemon=True).start()
        _running_in = pid


_checking = threading.Lock()


def _check() -> None:
    """The chain check when it is due, in a thread of its own: a full check of millions of records takes minutes,
    and sealing must not wait for it (records would then count as sealed late)."""
    from .services import audit_verify_if_due

    if not _checking.acquire(blocking=False):
        return  # one is running
    try:
        audit_verify_if_due()
    except Exception:  # noqa: BLE001 - reported by the next run; the sealer goes on
        log.exception("audit check failed to run")
    finally:
        _checking.release()
        connections.close_all()


def _loop() -> None:
    from .services import audit_seal

    last_check = 0.0
    while True:
        time.sleep(settings.AUDIT_SEAL_SECONDS)
        if time.monotonic() - last_check > 600:  # look every ten minutes whether a check is due
            last_check = time.monotonic()
            threading.Thread(target=_check, name="audit-check", daemon=True).start()
        try:
            audit_seal()
        except Exception:  # noqa: BLE001 - the sealer must outlive a bad moment (a restart, a locked file)
            log.exception("audit sealer: sealing failed; will try again")
        finally:
            connections.close_all()
