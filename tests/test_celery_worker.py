"""A real Celery worker and beat on Redis seal the audit log on schedule and check the chain against a real
database file.

The worker is a separate process (as at scale), so it cannot see pytest's test database: this test
prepares its own SQLite file with migrate + seed_demo, exactly as an installation would."""
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
REDIS = os.environ.get("ZHIJIAO_TEST_REDIS_URL", "")
pytestmark = [pytest.mark.celery_worker,
              pytest.mark.skipif(not REDIS, reason="needs ZHIJIAO_TEST_REDIS_URL (make test starts Redis)")]


def test_worker_verifies_the_chain_and_finds_tampering(tmp_path):
    db = tmp_path / "worker.sqlite3"
    env = {**os.environ, "ZHIJIAO_VAR": str(tmp_path), "DATABASE_URL": f"sqlite:///{db}", "REDIS_URL": REDIS,
           "DJANGO_SETTINGS_MODULE": "zhijiao.settings"}
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([py, "manage.py", "seed_demo", "--count", "30", "--quiet"], cwd=ROOT, env=env, check=True)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env["ZHIJIAO_CELERY_QUEUE"] = queue  # the worker and beat use a queue of their own
    worker = subprocess.Popen([py, "-m", "celery", "-A", "zhijiao", "worker", "--pool=solo", "-Q", queue,
                               "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    beat = subprocess.Popen([py, "-m", "celery", "-A", "zhijiao", "beat", "--loglevel=WARNING",
                             "-s", str(tmp_path / "beat-schedule")], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    sender = Celery("sender", broker=REDIS, backend=REDIS)
    try:
        with sqlite3.connect(db) as con:
            (n,) = con.execute("SELECT COUNT(*) FROM audit_auditrecord").fetchone()
        assert n > 30
        t0 = time.time()
        result = sender.send_task("audit.verify_chain", queue=queue).get(timeout=90)
        assert (result["ok"], result["count"], result["broken_seq"]) == (True, n, None)
        # records written with REDIS_URL set are sealed by the worker's audit.seal task (Celery beat's schedule)
        # the writer counts its unsealed records itself, at once: beat's next tick may come before this test looks
        wrote = subprocess.run([py, "manage.py", "shell", "-c",
                                "from django.db import transaction\n"
                                "from apps.audit.models import AuditRecord\n"
                                "from apps.audit.services import audit_record\n"
                                "with transaction.atomic():\n"
                                "    [audit_record(actor=None, kind='change', action='test.worker') for _ in range(3)]\n"
                                "print('unsealed', AuditRecord.objects.filter(seq__isnull=True).count())"],
                               cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        assert "unsealed 3" in wrote.stdout, wrote.stdout + wrote.stderr
        for _ in range(300):  # beat sends audit.seal every 2 s; the worker seals
            with sqlite3.connect(db) as con:
                if con.execute("SELECT COUNT(*) FROM audit_auditrecord WHERE seq IS NULL").fetchone() == (0,):
                    break
            time.sleep(0.2)
        with sqlite3.connect(db) as con:
            assert con.execute("SELECT MAX(seq), COUNT(*) FROM audit_auditrecord").fetchone() == (n + 3, n + 3)
        with sqlite3.connect(db) as con:  # tamper as a database owner could, bypassing the triggers
            con.execute("DROP TRIGGER audit_no_update")
            con.execute("UPDATE audit_auditrecord SET summary = '篡改' WHERE seq = 7")
        result = sender.send_task("audit.verify_chain", kwargs={"full": True}, queue=queue).get(timeout=60)
        assert (result["ok"], result["broken_seq"], result["count"]) == (False, 7, 6)
        assert time.time() - t0 < 120
    finally:
        for proc in (beat, worker):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
