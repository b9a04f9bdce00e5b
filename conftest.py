import os

import pytest


@pytest.fixture
def tree(db):
    from apps.orgs.testing import given_tree

    return given_tree()


@pytest.fixture
def bounded(tree):
    """The tree with the real outlines of 东湖区 and 西湖区 (location monitoring needs them)."""
    from apps.orgs.testing import give_boundaries

    give_boundaries(tree.donghu, tree.xihu)
    return tree


@pytest.fixture
def officer(tree):
    from apps.orgs.testing import given_staff

    return given_staff(tree.donghu, "county_officer")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, never a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--lang=zh-CN"],
    }


def pytest_configure(config):
    """Tests seal the audit log themselves (audit_seal), so no sealer thread runs behind their backs."""
    from django.conf import settings

    settings.AUDIT_SEALER = "off"
    settings.ZHIJIAO_DAILY_JOBS = "off"  # tests run the daily job themselves
    settings.ZHIJIAO_EAGER_IN_THREAD = False  # background jobs run inline in tests, after the commit
    # Argon2 is slow by design (about a tenth of a second a hash, thousands of them in the suite): tests hash with
    # MD5 and still read Argon2 hashes; the tests of the hasher itself ask for the installation's list
    # (apps/orgs/tests/test_services.py); the browser tests' server keeps Argon2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_the_audit_triggers():
    """Transactional tests (real commits from several connections) end with a flush of every table, which the
    audit log's triggers refuse by design; lift them for the flush alone, as a database owner would."""
    from django.test import TransactionTestCase

    from apps.audit.testing import triggers_off

    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        with triggers_off():
            original(self)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture(autouse=True)
def _fresh_holiday_calendar():
    """The calendar is cached per process; each test reads its own database's."""
    yield
    from apps.cases.services import calendar_forget

    calendar_forget()
