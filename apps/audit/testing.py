"""Test helpers for the audit log: acting as a database owner who bypasses the triggers (the root conftest also
lifts them for the flush that ends a transactional test)."""
from __future__ import annotations

import importlib
from contextlib import contextmanager

from django.db import connection

_m = importlib.import_module("apps.audit.migrations.0008_where_it_happened")  # the latest triggers (0009 keeps them)


def _drop():
    with connection.cursor() as cur:
        for sql in (_m.SQLITE_DROP if connection.vendor == "sqlite" else _m.POSTGRES_DROP):
            cur.execute(sql)


def _create():
    with connection.cursor() as cur:
        for sql in (_m.SQLITE if connection.vendor == "sqlite" else _m.POSTGRES):
            cur.execute(sql)


@contextmanager
def triggers_off():
    """What an attacker with the database owner's rights could do: write with the triggers removed."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred FK checks first
    _drop()
    try:
        yield
    finally:
        _create()


def bypass(*sql: str, params=None) -> None:
    with triggers_off(), connection.cursor() as cur:
        for s in sql:
            cur.execute(s, params)

