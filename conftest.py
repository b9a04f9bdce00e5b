import os

import pytest


@pytest.fixture
def tree(db):
    from apps.orgs.testing import given_tree

    return given_tree()


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
