"""The page routes themselves, without a browser: HTML, headers, modules, no CDN."""

from __future__ import annotations

import re

import httpx
import pytest

from router.api.pages import STATIC
from tests.browser.conftest import Server

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("page", ["console", "desktop"])
def test_page_is_served_with_a_same_origin_policy(server: Server, page: str) -> None:
    client = httpx.Client(base_url=server.url, timeout=10)
    res = client.get(f"/{page}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    module = re.search(r'<script type="module" src="([^"]+)"', res.text)
    assert module is not None
    js = client.get(module.group(1))
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    slash = client.get(f"/{page}/", follow_redirects=False)
    assert slash.status_code in (302, 307) and slash.headers["location"] == f"/{page}"


def test_static_files_reference_nothing_off_site() -> None:
    # Works offline: no CDN, no absolute URL to another host, no inline script.
    for path in STATIC.rglob("*"):
        if path.suffix not in {".html", ".js", ".css"}:
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"https?://", text), path
        assert not re.search(r"import [^;]*from '(https?:)?//", text), path
        if path.suffix == ".html":
            assert "<script>" not in text, path


def test_modules_import_only_files_that_exist() -> None:
    for path in STATIC.rglob("*.js"):
        for target in re.findall(r"from '([^']+)'", path.read_text(encoding="utf-8")):
            resolved = (STATIC / target.removeprefix("/static/")) if target.startswith(
                "/static/") else (path.parent / target)
            assert resolved.resolve().is_file(), f"{path.name} imports missing {target}"
