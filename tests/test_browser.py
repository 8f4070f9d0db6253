"""The widget in a real JupyterLab, in headless Chromium (Debian's package), driven by Playwright.

Chromium must be at /usr/bin/chromium (``apt-get install -y chromium``); Playwright's
own browser download does not work offline. Without it this test FAILS with a message
that says so: it never skips silently.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

WIDGET_NOTEBOOK = [
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'",
    "from saliency_widgets import ExplainWidget\nfrom saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes\n"
    "scene = make_scenes(1, objects=(2, 2), seed=11)\n"
    "w = ExplainWidget(load_model(), scene.images[0], labels=CLASS_NAMES, truth=scene.objects[0][0].box, top_k=4)\n"
    "w.budget_slider.value = 3000\nw",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: install Debian's package with "
                    "`apt-get install -y chromium` (.ci/run does this); the browser test cannot run without it")
    pytest.importorskip("playwright", reason="the playwright Python package is a test dependency")
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in WIDGET_NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "widget.ipynb")
    for src in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        shutil.copy(src, root / src.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"))
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
         "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"] + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n" + (root / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"base": base, "token": token, "root": root}
    finally:  # shut the server down even when the test failed
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                              args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _open(browser, lab, name):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab['base']}/lab/tree/{name}?token={lab['token']}&reset")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-NotebookPanel')", timeout=90_000)
    page.wait_for_function("""() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return !s || s.getAttribute('data-status') === 'idle'; }""", timeout=90_000)
    page.wait_for_timeout(1500)  # the kernel connects
    return page


def _run_all(page, timeout_ms):
    """Run every cell and wait until the kernel has been idle, with no cell queued, for 3 s."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    busy_js = """() => { const w = window.jupyterapp.shell.currentWidget;
        const k = w.sessionContext.session && w.sessionContext.session.kernel;
        const queued = [...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
        return queued || !k || k.status !== 'idle'; }"""
    deadline = time.monotonic() + timeout_ms / 1000
    idle_since = None
    while time.monotonic() < deadline:
        if page.evaluate(busy_js):
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= 3:
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"the notebook did not finish within {timeout_ms / 1000:.0f} s")


def _errors(page):
    """Widget rendering errors on the page, and error outputs in the notebook's model."""
    text = page.inner_text(".jp-NotebookPanel")
    errs = ["Error displaying widget"] if "Error displaying widget" in text else []
    errs += page.evaluate("""() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
        const out = [];
        for (let i = 0; i < cells.length; i++) {
            const c = cells.get(i);
            if (c.type !== 'code') continue;
            for (const o of c.outputs.toJSON())
                if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
        }
        return out; }""")
    return errs


def _progress_full(page):
    return page.evaluate("""() => { const b = document.querySelector('.saliency-explain-widget .progress-bar');
        return b && b.style.width === '100%'; }""")


def test_widget_renders_runs_switches_class_and_stops(browser, lab):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = _open(browser, lab, "widget.ipynb")
    try:
        _run_all(page, 120_000)
        widget = page.wait_for_selector(".saliency-explain-widget", timeout=60_000)
        assert not _errors(page), _errors(page)

        # the class dropdown shows the model's classes, by name, with probabilities
        options = page.eval_on_selector_all(".saliency-explain-widget select option",
                                            "os => os.map(o => o.text.replace(/\\u00a0/g, ' '))")
        from saliency_widgets.demo import CLASS_NAMES
        assert sum(any(o.startswith(name + " (") for name in CLASS_NAMES) for o in options) >= 4, options

        overlay = widget.query_selector_all("img")[0]
        before = overlay.screenshot()
        # Record every change of the overlay in the page, to time the first map and the refresh rate.
        page.evaluate("""() => { const img = document.querySelector('.saliency-explain-widget img');
            window.__changes = []; window.__t0 = null;
            new MutationObserver(() => window.__changes.push(performance.now()))
                .observe(img, {attributes: true, attributeFilter: ['src']}); }""")
        page.evaluate("window.__t0 = performance.now()")
        page.click(".saliency-explain-widget button:has-text('Run')")
        page.wait_for_function("""() => { const b = document.querySelector('.saliency-explain-widget .progress-bar');
            return b && b.style.width === '100%'; }""", timeout=60_000)
        page.wait_for_selector(".saliency-explain-widget :text('done')", timeout=60_000)
        timing = page.evaluate("({t0: window.__t0, changes: window.__changes})")
        after = overlay.screenshot()
        assert after != before, "the overlay did not change after Run"
        d = page.eval_on_selector(".saliency-explain-widget .bqplot path.line", "p => p.getAttribute('d') || ''")
        assert d.count("L") > 10, "the bqplot score line has no points"
        page.wait_for_function("""() => [...document.querySelectorAll('.saliency-explain-widget .bqplot .mainheading')]
            .some(t => t.textContent.includes('AUC'))""", timeout=30_000)  # the insertion/deletion panel
        paths = page.eval_on_selector_all(".saliency-explain-widget .bqplot path.line",
                                          "ps => ps.map(p => (p.getAttribute('d') || '').length)")
        # score line + insertion + deletion (the legend's short samples are paths too)
        assert sum(n > 100 for n in paths) >= 3, f"insertion/deletion curves not drawn: {paths}"

        changes = [t - timing["t0"] for t in timing["changes"]]
        first = changes[0] / 1000 if changes else float("nan")
        span = (changes[-1] - changes[0]) / 1000 if len(changes) > 1 else float("nan")
        rate = (len(changes) - 1) / span if len(changes) > 1 and span > 0 else float("nan")
        (OUTPUT / "browser_timing.json").write_text(json.dumps(
            {"first_overlay_s": first, "refreshes": len(changes), "span_s": span, "refresh_per_s": rate}))

        # choosing another class after a run re-runs it, and the map changes
        values = page.eval_on_selector_all(".saliency-explain-widget select:first-of-type option",
                                           "os => os.map(o => o.value)")
        first_select = page.query_selector_all(".saliency-explain-widget select")[0]
        first_select.select_option(index=1)
        page.wait_for_timeout(500)
        page.wait_for_selector(".saliency-explain-widget :text('done')", timeout=60_000)
        page.wait_for_timeout(500)
        other = overlay.screenshot()
        assert other != after, f"the map did not change for another class ({values})"

        # Stop stops a long run: the faithful method, one forward pass per step, 10000 steps
        method_select = page.query_selector_all(".saliency-explain-widget select")[1]
        method_select.select_option(index=1)  # "mask-update (faithful)"
        page.wait_for_timeout(300)
        page.click(".saliency-explain-widget button:has-text('Run')")
        page.wait_for_timeout(1500)
        page.click(".saliency-explain-widget button:has-text('Stop')")
        page.wait_for_selector(".saliency-explain-widget :text('stopped at')", timeout=10_000)
        assert not _progress_full(page)
        assert not _errors(page), _errors(page)
    finally:
        page.screenshot(path=str(OUTPUT / "widget_final.png"), full_page=True)
        page.close()


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")))
def test_tutorial_notebook_runs_without_widget_errors(browser, lab, name):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = _open(browser, lab, name)
    try:
        _run_all(page, 240_000)
        page.wait_for_timeout(1500)
        errs = _errors(page)
        widget = page.query_selector(".saliency-explain-widget")
        if widget is not None:
            widget.scroll_into_view_if_needed()
        assert not errs, f"{name}: {errs}"
    finally:
        page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=False)
        page.close()
