"""Browser tests: Debian's Chromium driven by Playwright (pytest-playwright) against a live
server on the test database, with a real task worker process.

No browser is ever downloaded: Playwright launches /usr/bin/chromium (`apt-get install -y
chromium`; scripts/ensure_chromium.sh does it). Screenshots go to the test's tmp_path, or
to docs/screenshots/ with MLSERVE_SCREENSHOTS=1.
"""

import os

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import PYTHON, ROOT, database_url, stop_group

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
WORKER_START_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium (scripts/ensure_chromium.sh, or "
            "apt-get install -y chromium). Playwright's own browser download is never used."
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 900},
        "accept_downloads": True,
    }


@pytest.fixture
def task_worker(live_server, tmp_path):
    """start() launches `manage.py db_worker` on the test database; stopped by process id."""
    started: list[subprocess.Popen] = []
    log_path = tmp_path / "worker.log"

    def start() -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        log = log_path.open("ab")
        proc = subprocess.Popen(
            [PYTHON, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started.append(proc)
        return proc

    start.log_path = log_path
    yield start
    for proc in started:
        stop_group(proc, timeout=10)
    if log_path.exists():
        print("---- worker log ----\n" + log_path.read_text(errors="replace")[-5000:])


@pytest.fixture
def screenshot(page, tmp_path):
    """shot(name) saves a full-page PNG of the current page (docs/screenshots/ on request)."""
    folder = SCREENSHOTS if os.environ.get("MLSERVE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def shot(name: str, target=None, *, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        if target is None:
            page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        else:  # one element (a Locator)
            target.screenshot(path=str(path), animations="disabled")
        saved.append(path)
        return path

    shot.saved = saved
    return shot


def wait_until(predicate, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(message)
