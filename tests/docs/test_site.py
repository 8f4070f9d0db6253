"""The documentation site: built by ``bash .ci/docs`` (offline, warnings as errors), its links, and a browser.

One build per test run (a module fixture, in a temporary folder); the checks read the built HTML. The browser
test opens it in Debian's Chromium (Playwright, headless, as tests/test_browser.py launches it), served on
localhost: the index, the API page of ``Rise`` and a tutorial render (a title, a figure, no error box, nothing
fetched from another host), and the search page finds "RISE".
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.env, pytest.mark.slow]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """``bash .ci/docs`` as README gives it, in this environment (no install), into a temporary folder."""
    out = tmp_path_factory.mktemp("site") / "html"
    env = dict(os.environ, SW_VENV=sys.prefix, SW_LAB_NO_INSTALL="1", SW_DOCS_OUT=str(out))
    proc = subprocess.run(["bash", ".ci/docs"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"the docs build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    assert f"open {out}/index.html" in proc.stdout, proc.stdout
    return out


class _Refs(HTMLParser):
    """Every link, image, script and stylesheet reference of a page, and its element ids."""

    def __init__(self):
        super().__init__()
        self.refs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "script", "link", "source"):
                self.refs.append(a[key])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Refs:
    p = _Refs()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if not {"_sources", "_static"} & set(p.parts))


def test_the_site_has_its_pages(site):
    for page in ("index.html", "getting-started.html", "guide/widget.html", "guide/cli.html",
                 "science/verdict.html", "science/gridpg.html", "science/sanity.html", "science/benchmarks.html",
                 "tutorials/runbook.html", "changelog.html", "api/index.html", "search.html"):
        assert (site / page).exists(), page
    assert len(list((site / "tutorials").glob("0[1-7]_*.html"))) == 7
    assert (site / "api" / "generated" / "saliency_widgets.explainers.Rise.html").exists()


def test_every_relative_link_and_image_resolves(site):
    """Every local reference of every page points at a file of the site, and its #anchor at an element id."""
    broken = []
    for page in _pages(site):
        for ref in _parse(page).refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//") or ref.startswith("mailto:"):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {ref}")
            elif parts.fragment and target.suffix == ".html" and parts.fragment not in _parse(target).ids:
                broken.append(f"{page.relative_to(site)}: {ref} (no such anchor)")
    assert not broken, "broken local links:\n" + "\n".join(broken[:50])


def test_no_page_shows_an_error_or_an_issue_number(site):
    bad = []
    for page in _pages(site):
        html = page.read_text(encoding="utf-8")
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))
        if re.search(r'class="[^"]*\b(system-message|problematic)\b', html):
            bad.append(f"{page.relative_to(site)}: a docutils error box")
        if re.search(r"\bissues? #?\d+", text, re.I):
            bad.append(f"{page.relative_to(site)}: names an issue number")
    assert not bad, "\n".join(bad)


def test_tutorials_show_their_stored_figures(site):
    for page in sorted((site / "tutorials").glob("0[1-7]_*.html")):
        imgs = [r for r in _parse(page).refs if r.endswith(".png")]
        assert imgs, f"{page.name}: no figure (the notebook's stored outputs)"


# -- in a browser ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser_page(served):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (.ci/run does this)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        foreign = []
        page.on("request", lambda r: None if r.url.startswith(served) or r.url.startswith("data:")
                else foreign.append(r.url))
        page.foreign = foreign
        yield page
        browser.close()


def _renders(page, url, *, title, figure):
    page.goto(url, wait_until="load")
    page.wait_for_selector("article h1")
    assert title in page.inner_text("article h1"), page.inner_text("article h1")
    assert page.locator(".system-message, .problematic, .admonition.error").count() == 0
    if figure:
        loaded = page.eval_on_selector_all("article img", "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0)"
                                                          ".map(i => i.src)")
        assert loaded, f"{url}: no figure loaded"


@pytest.mark.browser
def test_index_api_page_and_a_tutorial_render_in_a_browser(browser_page, served):
    page = browser_page
    _renders(page, f"{served}/index.html", title="saliency_widgets", figure=True)
    _renders(page, f"{served}/api/generated/saliency_widgets.explainers.Rise.html", title="Rise", figure=False)
    assert page.locator("dl.py.class dt#saliency_widgets\\.explainers\\.Rise").count() == 1
    assert "Parameters" in page.inner_text("article")
    _renders(page, f"{served}/tutorials/01_quick_start.html", title="Quick start", figure=True)
    assert not page.foreign, f"the site fetched from other hosts: {page.foreign[:5]}"


@pytest.mark.browser
def test_the_search_page_finds_rise(browser_page, served):
    page = browser_page
    page.goto(f"{served}/search.html?q=RISE", wait_until="load")
    page.wait_for_function("document.querySelectorAll('#search-results li').length > 0", timeout=60_000)
    hits = page.inner_text("#search-results")
    assert "Rise" in hits or "RISE" in hits, hits[:500]
