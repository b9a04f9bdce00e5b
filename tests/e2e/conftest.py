"""Browser tests: a real server (the project's WSGI app under granian) on a seeded SQLite file, driven by
Playwright in Debian's headless chromium. Screenshots go to $ZHIJIAO_SCREENSHOTS when it is set."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "Zhijiao@2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_site(tmp_path_factory):
    var = tmp_path_factory.mktemp("e2e-var")
    env = {**os.environ, "ZHIJIAO_VAR": str(var), "DATABASE_URL": f"sqlite:///{var / 'e2e.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "zhijiao.settings",
           "ZHIJIAO_EXPORT_INLINE_MAX": "250"}  # the city's list (400) is a background job, a county's is not
    env.pop("REDIS_URL", None)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([py, "manage.py", "seed_demo", "--count", os.environ.get("ZHIJIAO_E2E_COUNT", "400"), "--quiet"],
                   cwd=ROOT, env=env, check=True)
    port = _free_port()
    log = open(var / "server.log", "wb")
    proc = subprocess.Popen([py, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1", "zhijiao.wsgi:application"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError((var / "server.log").read_text())
    yield {"base": base, "env": env, "var": var}
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def shot(request):
    """A full-page screenshot at 1440 and at 360 pixels wide (a desk and a cheap phone), when asked for."""
    folder = os.environ.get("ZHIJIAO_SCREENSHOTS")

    def take(page, name, narrow: bool = True):
        if not folder:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        size = page.viewport_size
        page.screenshot(path=str(Path(folder) / f"{name}-1440.png"), full_page=True)
        if narrow:
            page.set_viewport_size({"width": 360, "height": 640})
            page.wait_for_timeout(150)
            page.screenshot(path=str(Path(folder) / f"{name}-360.png"), full_page=True)
            page.set_viewport_size(size)

    return take


@pytest.fixture
def sign_in(page, live_site):
    def go(username, password=DEMO_PASSWORD, *, stay=False):
        """Sign in; an officer lands on 我的待办, and (unless `stay`) goes on to the list, where most tests start."""
        page.goto(live_site["base"] + "/")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-btn")
        page.wait_for_load_state("networkidle")
        if not stay and page.url.endswith("/cases/work/"):
            page.goto(live_site["base"] + "/people/")
        return page

    return go


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}, "locale": "zh-CN"}
