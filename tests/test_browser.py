"""The widget in a real JupyterLab 4 and Jupyter Notebook 7, in headless Chromium (Debian's package), driven by Playwright.

Chromium must be at /usr/bin/chromium (``apt-get install -y chromium``); Playwright's own browser
download does not work offline. Without Chromium or Playwright this test FAILS with a message that
says so: it never skips.

Covered in both frontends: the widget renders; before a run no mask panel is shown and the colour bar
has no raw values yet; Run fills the overlay, the colour bar (display and raw values), the score line and
the insertion/deletion chart, and the status line counts the map's and the curves' forward passes apart;
a class change after a run re-runs; a class change *during* a run restarts with the new class; Stop
stops; uploading a PNG adds it to the image picker, uploading a text file says it is not an image;
compare mode renders every method's map, every visible chart has lines, and each legend lies inside its
plot area. In JupyterLab the widget also explains a real photograph with the offline ImageNet model,
every tutorial notebook runs, and a screenshot of the widget mid-run (the map partly converged, the
status line showing progress) is taken for the README.

Screenshots go to test-output/browser/ (look at them: widget_before_<frontend>.png,
widget_single_<frontend>.png, widget_compare_<frontend>.png, widget_midrun_lab.png, widget_final_<frontend>.png);
timings to test-output/browser/browser_timing_<frontend>.json. With ``SW_WRITE_DOCS_IMAGES=1`` the mid-run
screenshot is also written to docs/images/widget.png (the README's picture, kept under 300 KB)::

    SW_WRITE_DOCS_IMAGES=1 python -m pytest tests/test_browser.py -m browser -k mid_run -p no:cacheprovider
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

pytestmark = [pytest.mark.browser, pytest.mark.env, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output" / "browser"
DOCS_IMAGE = ROOT / "docs" / "images" / "widget.png"
DOCS_IMAGE_MAX_BYTES = 300_000
WRITE_DOCS_IMAGES = os.environ.get("SW_WRITE_DOCS_IMAGES", "") not in ("", "0")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
W = ".saliency-explain-widget"

WIDGET_NOTEBOOK = [
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'",
    "from saliency_widgets import ExplainWidget\nfrom saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes\n"
    "scene = make_scenes(1, objects=(2, 2), seed=11)\n"
    "w = ExplainWidget(load_model(), scene.images[0], labels=CLASS_NAMES, truth=scene.objects[0], top_k=4)\n"
    "w.budget_slider.value = 3000\nw",
]
# A real photograph (scikit-image's coffee) explained by the offline ImageNet model (the 'imagenet' extra).
PHOTO_NOTEBOOK = [
    WIDGET_NOTEBOOK[0],
    "from saliency_widgets import ExplainWidget\nfrom saliency_widgets.demo import load_imagenet_model, load_photo\n"
    "model = load_imagenet_model('efficientnet-lite0')\n"
    "w = ExplainWidget(model, load_photo('coffee'), labels=model.class_names, causal=False)\n"
    "w.method_dropdown.value = 'rise'\nw.budget_slider.value = w.budget_slider.min\nw",
]
# The README's picture: the default reading on the same scene, a budget large enough to catch it mid-run.
README_NOTEBOOK = [
    WIDGET_NOTEBOOK[0],
    WIDGET_NOTEBOOK[1].replace("w.budget_slider.value = 3000", "w.budget_slider.value = w.budget_slider.max"),
]
# The server's command line per frontend; both without the news pop-up and the update check.
FRONTENDS = {
    "lab": (["lab", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"], "/lab/tree/{name}?token={token}&reset"),
    "notebook": (["notebook", "--JupyterNotebookApp.expose_app_in_browser=True"], "/notebooks/{name}?token={token}"),
}


NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_tools():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: install Debian's package with "
                    "`apt-get install -y chromium` (.ci/run does this); the browser test cannot run without it")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("the playwright Python package is missing: pip install -e '.[test]' (it is a test dependency)")


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    _require_tools()
    frontend = request.param  # "lab" or "notebook" (parametrized by each test, indirect)
    root = tmp_path_factory.mktemp(frontend)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in WIDGET_NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "widget.ipynb")
    for name, cells in (("photo.ipynb", PHOTO_NOTEBOOK), ("readme.ipynb", README_NOTEBOOK)):
        other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
        other.metadata["kernelspec"] = nb.metadata["kernelspec"]
        nbformat.write(other, root / name)
    for src in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        shutil.copy(src, root / src.name)
    png = root / "upload.png"
    from PIL import Image
    from saliency_widgets.demo import make_scenes
    Image.fromarray(make_scenes(1, seed=5).images[0]).resize((150, 120)).save(png)
    (root / "notes.txt").write_text("not an image")
    # The news pop-up ("Would you like to get notified about official Jupyter news?") is asked while the
    # setting fetchNews is "none", whatever news_url says: answer it in the settings, as .ci/lab does.
    settings = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(NO_NEWS))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0",
               JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(root / ".lab-settings"))
    args, url = FRONTENDS[frontend]
    log = open(root / "server.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", *args, "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.disable_check_xsrf=True"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
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
                    raise RuntimeError(f"jupyter {frontend} did not start:\n" + (root / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield {"frontend": frontend, "base": base, "token": token, "root": root, "url": url}
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
def browser():
    _require_tools()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"),
                              args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _open(browser, server, name, *, height=1000):
    """The notebook in a new page; ``height``: a tall viewport shows the whole widget (for screenshots)."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.goto(server["base"] + server["url"].format(name=name, token=server["token"]))
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-NotebookPanel')", timeout=90_000)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; }""",
                           timeout=90_000)
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


def _status(page) -> str:
    return page.inner_text(f"{W} .saliency-status").replace("\u00a0", " ")


def _wait_status(page, text, timeout_ms=60_000):
    page.wait_for_function(f"""() => {{ const s = document.querySelector('{W} .saliency-status');
        return s && s.textContent.includes({json.dumps(text)}); }}""", timeout=timeout_ms)


def _progress_full(page, scope=f"{W} .saliency-progress"):
    return page.evaluate(f"""() => {{ const b = document.querySelector('{scope} .progress-bar');
        return !!b && b.style.width === '100%'; }}""")


def _options(page, css):
    """The option texts of the select under ``css`` (ipywidgets writes spaces as no-break spaces)."""
    return page.eval_on_selector_all(f"{W} {css} select option",
                                     "os => os.map(o => o.text.replace(/\\u00a0/g, ' '))")


def _select(page, css, label):
    page.locator(f"{W} {css} select").select_option(index=_options(page, css).index(label))


def _charts(page):
    """Each visible chart of the widget: its title, whether it has a drawn line, and whether its legend (if any)
    lies inside its plot area (the axes and their labels stay clear)."""
    return page.evaluate(f"""() => [...document.querySelectorAll('{W} .bqplot')]
        .filter(f => f.offsetParent !== null)
        .map(f => {{
            const area = f.querySelector('rect.plotarea_background').getBoundingClientRect();
            const legend = [...f.querySelectorAll('g')].find(g => (g.getAttribute('class') || '').includes('legend')
                                                              && g.getBoundingClientRect().width > 0);
            const box = legend ? legend.getBoundingClientRect() : null;
            const inside = !box || (box.left >= area.left - 2 && box.right <= area.right + 2
                                    && box.top >= area.top - 2 && box.bottom <= area.bottom + 2);
            const title = f.querySelector('.mainheading');
            const svg = f.querySelector('svg').getBoundingClientRect();
            const t = title ? title.getBoundingClientRect() : null;
            const fits = !t || (t.left >= svg.left - 1 && t.right <= svg.right + 1);
            return {{title: title ? title.textContent : '', inside: inside, legend: !!box, title_fits: fits,
                     lines: [...f.querySelectorAll('path.line')].filter(p => (p.getAttribute('d') || '').length > 10).length}};
        }})""")


def _shot(page, name):
    """A screenshot of the widget alone, into test-output/browser/ (look at it)."""
    page.locator(W).screenshot(path=str(OUTPUT / name))


def _record_changes(page, selector, key):
    """Record every change of an image's ``src`` at or under ``selector`` (for first-map time and rate)."""
    page.evaluate(f"""() => {{ window.{key} = []; window.{key}_t0 = performance.now();
        new MutationObserver(ms => {{ if (ms.some(m => m.target.tagName === 'IMG'))
                window.{key}.push(performance.now()); }})
            .observe(document.querySelector('{selector}'),
                     {{attributes: true, attributeFilter: ['src'], subtree: true}}); }}""")


def _timing(page, key):
    t = page.evaluate(f"({{t0: window.{key}_t0, changes: window.{key}}})")
    changes = [c - t["t0"] for c in t["changes"]]
    first = changes[0] / 1000 if changes else float("nan")
    span = (changes[-1] - changes[0]) / 1000 if len(changes) > 1 else float("nan")
    rate = (len(changes) - 1) / span if len(changes) > 1 and span > 0 else float("nan")
    return {"first_map_s": first, "refreshes": len(changes), "span_s": span, "refresh_per_s": rate}


@pytest.mark.parametrize("server", list(FRONTENDS), indirect=True)
def test_widget_renders_runs_restarts_uploads_compares_and_stops(browser, server):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    frontend = server["frontend"]
    page = _open(browser, server, "widget.ipynb", height=2200)  # tall: the whole widget in the screenshots
    timings = {"frontend": frontend}
    try:
        _run_all(page, 120_000)
        widget = page.wait_for_selector(W, timeout=60_000)
        assert not _errors(page), _errors(page)
        assert "official Jupyter news" not in page.inner_text("body"), "the news pop-up is shown"

        # before a run: the image with its box, no mask panels, no charts, a colour bar without raw values yet
        page.wait_for_timeout(500)
        _shot(page, f"widget_before_{frontend}.png")
        assert not page.is_visible(f"{W} .saliency-mask-panel") and not page.is_visible(f"{W} .saliency-masked-panel")
        assert "after the first map" in page.inner_text(f"{W} .saliency-colorbar")
        assert _charts(page) == [], "a chart is shown before it has anything to draw"
        assert "extra forward passes" in page.inner_text(f"{W} .saliency-causal")

        # the class dropdown shows the model's classes, by name, with probabilities
        options = _options(page, ".saliency-class")
        from saliency_widgets.demo import CLASS_NAMES
        assert sum(any(o.startswith(name + " (") for name in CLASS_NAMES) for o in options) >= 4, options
        methods = _options(page, ".saliency-method")
        assert "mask-update (32 chains, score-weighted)" in methods and "mask-update (paper)" in methods, methods

        # Run: the overlay, the score line and the insertion/deletion chart fill
        overlay = widget.query_selector(".saliency-overlay")
        before = overlay.screenshot()
        _record_changes(page, f"{W} .saliency-overlay", "__single")
        page.click(f"{W} .saliency-run")
        page.wait_for_function(f"""() => {{ const b = document.querySelector('{W} .saliency-progress .progress-bar');
            return b && b.style.width === '100%'; }}""", timeout=60_000)
        _wait_status(page, "done")
        timings["single"] = _timing(page, "__single")
        after = overlay.screenshot()
        assert after != before, "the overlay did not change after Run"
        d = page.eval_on_selector(f"{W} .bqplot path.line", "p => p.getAttribute('d') || ''")
        assert d.count("L") > 10, "the bqplot score line has no points"
        page.wait_for_function(f"""() => [...document.querySelectorAll('{W} .bqplot .mainheading')]
            .some(t => t.textContent.includes('AUC'))""", timeout=30_000)  # the insertion/deletion panel
        paths = page.eval_on_selector_all(f"{W} .bqplot path.line",
                                          "ps => ps.map(p => (p.getAttribute('d') || '').length)")
        assert sum(n > 100 for n in paths) >= 3, f"insertion/deletion curves not drawn: {paths}"
        # the status line counts the map's and the curves' passes apart; the colour bar has raw values
        _wait_status(page, "forward passes in")
        status = _status(page)
        assert "map: " in status and "insertion/deletion curves (extra work): " in status and " = " in status, status
        assert "raw ≤" in page.inner_text(f"{W} .saliency-colorbar")
        assert page.is_visible(f"{W} .saliency-mask-panel")  # the mask-update reading makes masks
        charts = _charts(page)
        assert len(charts) == 2 and all(c["lines"] and c["title_fits"] for c in charts), charts
        page.wait_for_timeout(300)
        _shot(page, f"widget_single_{frontend}.png")

        # choosing another class after a run re-runs it, and the map changes
        labels = _options(page, ".saliency-class")
        page.locator(f"{W} .saliency-class select").select_option(index=1)
        _wait_status(page, f"for {labels[1].split(' (')[0]}")
        _wait_status(page, "done")
        page.wait_for_timeout(300)
        other = overlay.screenshot()
        assert other != after, f"the map did not change for another class ({labels})"

        # a class change DURING a run restarts it for the new class (issue 12's bug); the paper's method
        # (one forward pass per step) makes the run long enough to be certainly in flight
        _select(page, ".saliency-method", "mask-update (paper)")
        page.wait_for_timeout(300)
        page.click(f"{W} .saliency-run")
        _wait_status(page, "running")
        page.wait_for_function(f"""() => {{ const b = document.querySelector('{W} .saliency-progress .progress-bar');
            return b && parseFloat(b.style.width) > 0; }}""", timeout=30_000)
        assert not _progress_full(page), "the run ended before the class could change during it"
        page.locator(f"{W} .saliency-class select").select_option(index=2)
        new_class = labels[2].split(" (")[0]
        _wait_status(page, f"for {new_class}", timeout_ms=30_000)
        _wait_status(page, "done: ", timeout_ms=120_000)
        status = _status(page)
        assert f"for {new_class}" in status and "stopped" not in status, status

        # Stop stops a long run
        page.click(f"{W} .saliency-run")
        _wait_status(page, "running")
        page.wait_for_timeout(1000)
        page.click(f"{W} .saliency-stop")
        _wait_status(page, "stopped at", timeout_ms=10_000)
        assert not _progress_full(page)

        # upload: a PNG joins the image picker; a text file gets a message
        def upload(name):  # the FileUpload button opens a file chooser (its <input> is not in the page)
            with page.expect_file_chooser() as chooser:
                page.click(f"{W} .saliency-upload")
            chooser.value.set_files(str(server["root"] / name))

        upload("notes.txt")
        _wait_status(page, "not an image", timeout_ms=30_000)
        upload("upload.png")
        page.wait_for_function(f"""() => [...document.querySelectorAll('{W} .saliency-image select option')]
            .some(o => o.textContent.replace(/\\u00a0/g, ' ').includes('uploaded: upload.png'))""", timeout=30_000)
        assert page.is_visible(f"{W} .saliency-image select")

        # compare mode: every method's map renders, each with its own progress
        _select(page, ".saliency-method", "mask-update (32 chains, score-weighted)")
        page.click(f"{W} .saliency-mode button:has-text('compare')")
        page.wait_for_timeout(300)
        _record_changes(page, f"{W} .saliency-compare", "__compare")
        page.click(f"{W} .saliency-run")
        page.wait_for_selector(f"{W} .saliency-map-panel img", timeout=30_000)
        _wait_status(page, "done", timeout_ms=120_000)
        timings["compare"] = _timing(page, "__compare")
        n_panels = page.eval_on_selector_all(f"{W} .saliency-map-panel", "ps => ps.length")
        timings["compare"]["panels"] = n_panels  # refreshes count every panel's image: per panel, divide
        full = page.eval_on_selector_all(f"{W} .saliency-map-panel .progress-bar",
                                         "bs => bs.map(b => b.style.width)")
        srcs = page.eval_on_selector_all(f"{W} .saliency-map-panel img.saliency-panel-map",
                                         "is => is.map(i => i.src)")
        assert n_panels >= 2 and full == ["100%"] * n_panels, full
        assert len(set(srcs)) == n_panels, "compare panels do not show their own maps"
        # every chart shown has lines, every legend sits inside its plot area; each panel has its colour bar
        page.wait_for_timeout(500)
        charts = _charts(page)
        assert charts and all(c["lines"] and c["title_fits"] for c in charts), charts
        assert all(c["inside"] for c in charts) and any(c["legend"] for c in charts), charts
        bars = page.eval_on_selector_all(f"{W} .saliency-map-panel .saliency-colorbar", "bs => bs.map(b => b.innerText)")
        assert len(bars) == n_panels and all("raw ≤" in b for b in bars), bars
        _shot(page, f"widget_compare_{frontend}.png")
        assert not _errors(page), _errors(page)
    finally:
        (OUTPUT / f"browser_timing_{frontend}.json").write_text(json.dumps(timings, indent=1))
        page.screenshot(path=str(OUTPUT / f"widget_final_{frontend}.png"), full_page=True)
        page.close()


@pytest.mark.parametrize("server", ["lab"], indirect=True)
def test_widget_explains_a_real_photograph(browser, server):
    """The offline ImageNet model on scikit-image's coffee photo: ImageNet classes listed, Run draws a map."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = _open(browser, server, "photo.ipynb")
    try:
        _run_all(page, 180_000)
        widget = page.wait_for_selector(W, timeout=60_000)
        assert not _errors(page), _errors(page)
        options = _options(page, ".saliency-class")
        assert options and options[0].startswith("espresso ("), options  # the model's top-1, by ImageNet name
        overlay = widget.query_selector(".saliency-overlay")
        size = overlay.evaluate("e => { const i = e.tagName === 'IMG' ? e : e.querySelector('img');"
                                " return [i.naturalWidth, i.naturalHeight]; }")
        assert size[0] == size[1] and size[0] % 224 == 0, size  # the model's 224 x 224 crop (not 400 x 600)
        before = overlay.screenshot()
        page.click(f"{W} .saliency-run")
        _wait_status(page, "done", timeout_ms=180_000)
        assert _progress_full(page)
        assert overlay.screenshot() != before, "the overlay did not change after Run on the photograph"
        assert "espresso" in _status(page), _status(page)
        assert not _errors(page), _errors(page)
    finally:
        page.screenshot(path=str(OUTPUT / "widget_photo_lab.png"), full_page=True)
        page.close()


def _small_png(data: bytes, limit: int) -> bytes:
    """``data`` (a PNG screenshot) under ``limit`` bytes: as it is (re-compressed) when it fits, else as a
    256-colour PNG, scaled down until it fits."""
    import io

    from PIL import Image
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    if buf.tell() < limit:
        return buf.getvalue()
    for scale in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
        size = (round(image.width * scale), round(image.height * scale))
        small = image.resize(size, Image.LANCZOS) if scale < 1 else image
        buf = io.BytesIO()
        small.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buf, format="PNG", optimize=True)
        if buf.tell() < limit:
            return buf.getvalue()
    raise AssertionError(f"the screenshot stays over {limit} bytes even at half size")


@pytest.mark.parametrize("server", ["lab"], indirect=True)
def test_widget_mid_run_screenshot_for_the_readme(browser, server):
    """The widget in JupyterLab while a run is in flight: the map partly converged, the status line counting
    passes and seconds. Written to test-output/browser/widget_midrun_lab.png, and to docs/images/widget.png
    with SW_WRITE_DOCS_IMAGES=1."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = _open(browser, server, "readme.ipynb", height=2200)
    try:
        _run_all(page, 120_000)
        page.wait_for_selector(W, timeout=60_000)
        assert not _errors(page), _errors(page)
        page.click(f"{W} .saliency-run")
        page.wait_for_function(f"""() => {{ const b = document.querySelector('{W} .saliency-progress .progress-bar');
            return b && parseFloat(b.style.width) >= 12; }}""", timeout=120_000)
        shot = page.locator(W).screenshot()
        status = _status(page)
        assert status.startswith("running ") and "forward passes so far" in status, status
        assert not _progress_full(page), "the run ended while the screenshot was taken"
        png = _small_png(shot, DOCS_IMAGE_MAX_BYTES)
        (OUTPUT / "widget_midrun_lab.png").write_bytes(png)
        if WRITE_DOCS_IMAGES:
            DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
            DOCS_IMAGE.write_bytes(png)
        page.click(f"{W} .saliency-stop")
        _wait_status(page, "stopped at", timeout_ms=30_000)
        assert not _errors(page), _errors(page)
    finally:
        page.close()


# Every tutorial in JupyterLab; the quick start (the widget's notebook) in Notebook 7 too.
TUTORIALS = [("lab", p.name) for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))] + [
    ("notebook", "01_quick_start.ipynb")]


@pytest.mark.parametrize("server,name", TUTORIALS, indirect=["server"])
def test_tutorial_notebook_runs_without_widget_errors(browser, server, name):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = _open(browser, server, name)
    try:
        _run_all(page, 240_000)
        page.wait_for_timeout(1500)
        errs = _errors(page)
        widget = page.query_selector(W)
        if widget is not None:
            widget.scroll_into_view_if_needed()
        assert not errs, f"{name}: {errs}"
    finally:
        page.screenshot(path=str(OUTPUT / f"{server['frontend']}_{name}.png"), full_page=False)
        page.close()
