"""What runs in the background, and where: the beat schedule names tasks that exist, and jobs are sent only
after the transaction that asked for them commits."""
import pytest
from django.conf import settings
from django.db import transaction

from zhijiao.celery import app


def test_the_beat_schedule_names_registered_tasks():
    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert {"audit-seal", "audit-verify-nightly", "files-sweep-daily"} <= set(schedule)
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
    assert schedule["audit-seal"]["schedule"] <= 5  # records are sealed within a few seconds
    assert schedule["monitoring-sweep"]["schedule"] <= 60  # a missed spot check reads as missed within a minute


@pytest.mark.django_db
def test_a_job_is_sent_only_after_its_transaction_commits(django_capture_on_commit_callbacks, monkeypatch):
    from zhijiao import background

    ran = []

    class Task:
        name = "t"

        def apply(self, args, kwargs, throw):
            ran.append(args)

    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            background.submit(Task(), 1)
            assert ran == []  # not inside the transaction
    assert ran == [(1,)]
