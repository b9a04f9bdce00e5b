"""Benchmarks run on the full demo seed (2,000 supervisees) in pytest's test database.
Each benchmark also times a baseline in the same run and reports the ratio, so figures compare across machines."""
import pytest
from django.core.management import call_command

RATIOS: list[tuple[str, float, float, float]] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", "--quiet")


@pytest.fixture
def ratio():
    def record(name: str, measured: float, baseline: float):
        RATIOS.append((name, measured, baseline, measured / baseline))
    return record


def pytest_terminal_summary(terminalreporter):
    if not RATIOS:
        return
    tr = terminalreporter
    tr.section("ratios to the baseline measured in the same run")
    for name, m, b, r in RATIOS:
        tr.write_line(f"{name:<58} {m * 1000:9.2f} ms  baseline {b * 1000:8.2f} ms  ratio {r:6.2f}")
