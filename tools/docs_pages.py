"""The generated part of the documentation site: written before every Sphinx build, never committed.

``docs/conf.py`` calls :func:`generate` (through ``docs/_ext/sw_generated.py``) before Sphinx reads a page,
so that every table the site shows is rendered at build time, from the stored JSON, by the same code that
renders ``benchmarks/RESULTS.md``:

* ``results-tables.md``, ``verdict.md``, ``sanity.md``: :func:`tools.claims.render_block` over the shipped
  ``saliency_widgets/demo/data/results.json``;
* ``gridpg.md``: ``benchmarks/bench_gridpg.py``'s ``render`` over ``benchmarks/gridpg.json``;
* ``gpu.md``: ``benchmarks/gpu/publish.py``'s ``results_section`` and ``readme_paragraph`` over the GPU run
  that RESULTS.md publishes;
* ``notebooks-table.md``: ``benchmarks/bench_notebooks.py``'s ``from_json`` over ``benchmarks/notebooks.json``;
* ``methods-table.md``: :func:`saliency_widgets.registry.methods_table`;
* ``wheel.md``: the wheel's size, from ``docs/wheel.json`` (written by ``python -m tools.wheel``);
* ``docs/tutorials/*.ipynb``: the notebooks of ``notebooks/`` with their stored outputs, and
  ``docs/tutorials/runbook.md``, the lecturer's runbook ``notebooks/README.md``, its links pointed at the
  site's pages;
* ``docs/api/*.rst``: one page per module of the package that declares ``__all__``, each name documented once
  (autosummary), at the module that defines it.

A heading of a rendered section (which names the script that wrote it into RESULTS.md) is replaced by the
page's own; links to repository files that are pages of the site become links to those pages, the others
point at the repository.  Repository tooling: not installed with the package.
"""
from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import re
import sys

__all__ = ["ROOT", "DOCS", "PAGES", "BLOCK_NAMES", "generate", "rewrite_links", "api_modules", "api_homes", "api_pages",
           "blocks", "repository_url", "drop_heading", "nest_headings"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")

#: repository files that are pages of the site: {path in the repository: page, from the site's root}
PAGES = {
    "README.md": "index.md",
    "notebooks/README.md": "tutorials/runbook.md",
    "docs/gpu.md": "gpu.md",
    "docs/distributed.md": "distributed.md",
    "docs/changelog.md": "changelog.md",
}
#: the blocks :func:`blocks` renders (``docs/_generated/NAME``), each included by a page of the site
BLOCK_NAMES = ("methods-table.md", "verdict.md", "results-tables.md", "sanity.md", "randomisation-rule.md",
               "gridpg.md", "gpu-summary.md", "gpu.md", "notebooks-table.md", "record.md", "wheel.md")
_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)\)")


def repository_url() -> str:
    """The repository's address, from pyproject's ``[project.urls] Repository`` (the one place it is written)."""
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"]


def _page_of(path: str) -> str | None:
    """The site page of repository file ``path`` (repository-relative), or None."""
    if path in PAGES:
        return PAGES[path]
    m = re.fullmatch(r"notebooks/(\d\d_\w+)\.ipynb", path)
    if m:
        return f"tutorials/{m.group(1)}.ipynb"
    if path.startswith("docs/") and path.endswith(".md"):
        return path[len("docs/"):]
    return None


def rewrite_links(text: str, source: str) -> str:
    """``text`` (markdown of repository file ``source``) with its relative links made to work in the site.

    A link to a repository file that is a page of the site becomes a ``project:`` link to that page (anchor
    kept); one to any other repository file, a link to it in the repository; web links and anchors stay.
    """
    base = os.path.dirname(source)
    repo = repository_url()

    def one(m):
        target = m.group("target")
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        rel = os.path.normpath(os.path.join(base, path)).replace(os.sep, "/")
        page = _page_of(rel)
        if page is not None:
            new = f"project:/{page}" + (f"#{anchor}" if anchor else "")
        else:
            new = f"{repo}/blob/main/{rel}" + (f"#{anchor}" if anchor else "")
        return f"[{m.group('text')}]({new})"
    return _LINK.sub(one, text)


def drop_heading(text: str) -> str:
    """A rendered section without its first line when that is a heading (the page has its own)."""
    first, _, rest = text.partition("\n")
    return rest.lstrip("\n") if first.startswith("#") else text


def nest_headings(text: str, level: int) -> str:
    """``text`` with its first heading at ``level`` and every later one below it (at least ``level + 1``):
    a rendered section's headings fitted under the including page's own."""
    headings = list(re.finditer(r"^(#+) ", text, re.M))
    if not headings:
        return text
    shift = level - len(headings[0].group(1))

    def one(m):
        depth = len(m.group(1)) + shift
        return "#" * (level if m.start() == headings[0].start() else max(depth, level + 1)) + " "
    return re.sub(r"^(#+) ", one, text, flags=re.M)


def _bench(name: str):
    """A module of ``benchmarks/`` (they import their neighbours by name, as scripts do)."""
    for folder in (os.path.join(ROOT, "benchmarks"), os.path.join(ROOT, "benchmarks", "gpu"), ROOT):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    return importlib.import_module(name)


def _load(rel: str):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return json.load(f)


def _gpu_run() -> tuple[dict, str]:
    """The GPU run RESULTS.md publishes (the one whose ``benchmarks/gpu/NAME.md`` its section names)."""
    publish = _bench("publish")
    start, end = publish.MARKS["results"]
    with open(os.path.join(ROOT, "benchmarks", "RESULTS.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index(start):text.index(end)]
    names = sorted(os.path.splitext(p)[0] for p in os.listdir(os.path.join(ROOT, "benchmarks", "gpu"))
                   if p.endswith(".json") and f"benchmarks/gpu/{os.path.splitext(p)[0]}.md" in section)
    if len(names) != 1:
        raise RuntimeError(f"RESULTS.md's GPU section names {len(names)} stored runs, expected one: {names}")
    return _load(f"benchmarks/gpu/{names[0]}.json"), names[0]


def _gpu() -> tuple[str, str]:
    """(the summary of the published GPU run, its full section): what the GPU and benchmarks pages show."""
    publish = _bench("publish")
    run, name = _gpu_run()
    meta, rows, env, commit = run["meta"], run["rows"], run["env"], run["meta"]["git_commit"]
    summary = publish.readme_paragraph(meta, rows, env, commit).replace(" More in [docs/gpu.md](docs/gpu.md).", "")
    return summary, drop_heading(publish.results_section(meta, rows, env, commit, name))


def _wheel() -> str:
    data = _load("docs/wheel.json")
    return (f"The wheel `{data['wheel']}` is {data['bytes'] / 1e6:.1f} MB ({data['files']} files; the demo model, "
            f"its permuted-label copy and the shipped results are most of it); the source distribution "
            f"`{data['sdist']}` is {data['sdist_bytes'] / 1e6:.1f} MB. Measured by `python -m tools.wheel` on "
            f"{data['date']}.\n")


def blocks() -> dict[str, str]:
    """``{file name: markdown}`` of every generated block (the tables and sections the pages include)."""
    from saliency_widgets.registry import methods_table
    from saliency_widgets.sanity import RANDOMISATION_RULE
    from tools.claims import render_block
    gridpg = _bench("bench_gridpg")
    notebooks = _bench("bench_notebooks")
    gpu = _gpu()
    out = {
        "methods-table.md": methods_table() + "\n",
        "verdict.md": render_block("readme-verdict"),
        "results-tables.md": nest_headings(render_block("results-tables"), 3),
        "sanity.md": render_block("sanity"),
        "gridpg.md": drop_heading(gridpg.render(_load("benchmarks/gridpg.json"))) + "\n",
        "gpu-summary.md": gpu[0],
        "gpu.md": gpu[1],
        "notebooks-table.md": notebooks.from_json(_load("benchmarks/notebooks.json")),
        "randomisation-rule.md": f"{RANDOMISATION_RULE}\n",
        "record.md": "Every measurement, with its machine, command, date and code, is recorded in "
                     "[benchmarks/RESULTS.md](benchmarks/RESULTS.md) in the repository.\n",
    }
    out["wheel.md"] = _wheel() if os.path.exists(os.path.join(DOCS, "wheel.json")) else (
        "The wheel's size is not measured in this checkout: `python -m tools.wheel` measures it.\n")
    assert set(out) == set(BLOCK_NAMES), set(out) ^ set(BLOCK_NAMES)
    return {name: rewrite_links(text, "README.md") for name, text in out.items()}


# -- the API reference -----------------------------------------------------------------------------------

def api_modules() -> list[str]:
    """The package and each of its modules and subpackages that declares ``__all__`` (not ``__main__``)."""
    import saliency_widgets
    names = ["saliency_widgets"]
    for info in pkgutil.iter_modules(saliency_widgets.__path__, "saliency_widgets."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if getattr(module, "__all__", None):
            names.append(info.name)
    return names


def _public(module) -> list[str]:
    return [n for n in module.__all__ if not (n.startswith("__") and n.endswith("__"))]


def api_homes(modules: list[str]) -> dict[str, dict[str, str]]:
    """``{module: {name: home module}}``: each object is documented once, at the listed module nearest to
    where it is defined (the longest prefix of its ``__module__``), else at the first that lists it; the
    package itself is the home only of what no subpackage lists."""
    listed = {m: _public(importlib.import_module(m)) for m in modules}
    order = modules[1:] + modules[:1]  # subpackages first, the package last
    homes: dict[str, dict[str, str]] = {m: {} for m in modules}
    for m in modules:
        for name in listed[m]:
            obj = getattr(importlib.import_module(m), name)
            defined = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
            having = [c for c in order if name in listed[c] and getattr(importlib.import_module(c), name) is obj]
            prefix = [c for c in having if defined and (defined == c or defined.startswith(c + "."))]
            homes[m][name] = max(prefix, key=len) if prefix else having[0]
    return homes


def _summary(obj) -> str:
    doc = inspect.getdoc(obj) if (inspect.isclass(obj) or callable(obj) or inspect.ismodule(obj)) else None
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def api_pages(modules: list[str] | None = None) -> dict[str, str]:
    """``{file name: reStructuredText}``: ``index.rst`` and one page per module."""
    modules = modules or api_modules()
    homes = api_homes(modules)
    pages = {}
    for m in modules:
        module = importlib.import_module(m)
        title = f"``{m}``"
        own = [n for n in _public(module) if homes[m][n] == m]
        elsewhere = [n for n in _public(module) if homes[m][n] != m]
        lines = [title, "=" * len(title), "", f".. automodule:: {m}", "   :no-members:", "",
                 f".. currentmodule:: {m}", ""]
        if own:
            lines += [".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            lines += [f"   {n}" for n in own] + [""]
        if elsewhere:
            lines += ["Also here, documented where they are defined:", "",
                      ".. list-table::", "   :widths: 35 65", ""]
            for n in elsewhere:
                lines += [f"   * - :py:obj:`{n} <{homes[m][n]}.{n}>`",
                          f"     - {_summary(getattr(module, n)) or ' '}"]
            lines.append("")
        pages[f"{m}.rst"] = "\n".join(lines)
    toc = ["API reference", "=============", "",
           "Every name each module exports (its ``__all__``), generated from the docstrings. A name a module "
           "re-exports is documented once, where it is defined.", "",
           ".. toctree::", "   :maxdepth: 1", ""] + [f"   {m}" for m in modules]
    pages["index.rst"] = "\n".join(toc) + "\n"
    return pages


# -- writing ---------------------------------------------------------------------------------------------

def _write(path: str, text: str) -> None:
    """Write ``text`` unless the file already holds it (Sphinx rebuilds only what changed)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _tutorials(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    notebooks = sorted(p for p in os.listdir(os.path.join(ROOT, "notebooks")) if re.match(r"\d\d_.*\.ipynb$", p))
    for name in {p for p in os.listdir(folder) if p.endswith(".ipynb")} - set(notebooks):
        os.remove(os.path.join(folder, name))
    for name in notebooks:
        src, dst = os.path.join(ROOT, "notebooks", name), os.path.join(folder, name)
        text = tutorial_text(open(src, encoding="utf-8").read())
        if not os.path.exists(dst) or open(dst, encoding="utf-8").read() != text:
            with open(dst, "w", encoding="utf-8") as f:
                f.write(text)


def tutorial_text(text: str) -> str:
    """A notebook as the site shows it: without the outputs that carry a student's recorded answers (a mime
    type meant for the grader, which no page can render)."""
    from saliency_widgets.coursework import RECORD_MIME
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell.get("outputs"):
            cell["outputs"] = [o for o in cell["outputs"] if RECORD_MIME not in o.get("data", {})]
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _runbook() -> str:
    with open(os.path.join(ROOT, "notebooks", "README.md"), encoding="utf-8") as f:
        return rewrite_links(f.read(), "notebooks/README.md")


def generate(docs: str = DOCS) -> list[str]:
    """Write every generated file of the site under ``docs``: the blocks (``_generated/``), the API pages
    (``api/``), the tutorials and the runbook (``tutorials/``); returns their paths."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    written = []
    for name, text in blocks().items():
        _write(os.path.join(docs, "_generated", name), text)
        written.append(os.path.join(docs, "_generated", name))
    api = os.path.join(docs, "api")
    modules = api_modules()
    pages = api_pages(modules)
    for name in set(os.listdir(api) if os.path.isdir(api) else ()) - set(pages) - {"generated"}:
        os.remove(os.path.join(api, name))
    # autosummary's stubs of names no longer exported would be pages of nothing (and fail the build)
    stubs = {f"{home}.{name}.rst" for homes in api_homes(modules).values() for name, home in homes.items()}
    generated = os.path.join(api, "generated")
    for name in set(os.listdir(generated) if os.path.isdir(generated) else ()) - stubs:
        os.remove(os.path.join(generated, name))
    for name, text in pages.items():
        _write(os.path.join(api, name), text)
        written.append(os.path.join(api, name))
    _tutorials(os.path.join(docs, "tutorials"))
    _write(os.path.join(docs, "tutorials", "runbook.md"), _runbook())
    written.append(os.path.join(docs, "tutorials", "runbook.md"))
    return written


if __name__ == "__main__":
    for p in generate():
        print(p)
