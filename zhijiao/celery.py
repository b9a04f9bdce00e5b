"""The Celery app. Eager (in-process) when REDIS_URL is unset; real workers on Redis otherwise."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijiao.settings")

app = Celery("zhijiao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
