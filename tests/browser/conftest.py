"""Browser tests: Debian's Chromium driven by Playwright against a real uvicorn server.

The browser is part of the test command's job: when /usr/bin/chromium is missing and we
run as root, it is installed with apt-get once per session. If no browser can be had,
the tests fail with a message saying how to get one; they never skip, because a
silently skipped UI suite looks exactly like a passing one.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from router.app import create_app
from router.auth import demo_token
from router.devserver import free_port
from router.runtime import Runtime
from tests.api.conftest import settings
from tests.system_tools import require_debian_tool

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium phones home at start-up, and on a
# closed network those refused connections stall it.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "browser"
TIMEOUT_MS = 8_000


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_debian_tool(CHROMIUM, "chromium", "the UI tests")


# Package scope, not session: the sync Playwright driver keeps an event loop running
# in this thread while it is open, which would break every asyncio test after ours.
@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Any]:
    if importlib.util.find_spec("playwright") is None:
        pytest.fail("the `playwright` package is missing: pip install -e '.[dev]'",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Server:
    url: str
    runtime: Runtime

    def api(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10,
                            headers={"Authorization": f"Bearer {demo_token(role)}"})


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh engine per test (embedded memory store, the demo config) on a free port."""
    runtime = Runtime.build(settings())
    port = free_port()
    config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start for the browser test")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", runtime)
    finally:
        uv.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test saves its screenshots (test-output/browser/<test name>/)."""
    folder = OUTPUT / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page_errors() -> list[str]:
    return []


def open_page(context: Any, url: str, errors: list[str]) -> Any:
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url)
    return page
