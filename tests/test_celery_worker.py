"""A real Celery worker on Redis runs the audit-chain check against a real database file.

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
    worker = subprocess.Popen([py, "-m", "celery", "-A", "zhijiao", "worker", "--pool=solo", "-Q", queue,
                               "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sender = Celery("sender", broker=REDIS, backend=REDIS)
    try:
        with sqlite3.connect(db) as con:
            (n,) = con.execute("SELECT COUNT(*) FROM audit_auditrecord").fetchone()
        assert n > 30
        t0 = time.time()
        result = sender.send_task("audit.verify_chain", queue=queue).get(timeout=90)
        assert result == {"count": n, "broken_seq": None, "reason": ""}
        with sqlite3.connect(db) as con:  # tamper as a database owner could, bypassing the triggers
            con.execute("DROP TRIGGER audit_no_update")
            con.execute("UPDATE audit_auditrecord SET summary = '篡改' WHERE seq = 7")
        result = sender.send_task("audit.verify_chain", queue=queue).get(timeout=60)
        assert result["broken_seq"] == 7 and result["count"] == 6
        assert time.time() - t0 < 120
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
