"""The documentation's generated part (tools/docs_pages.py): links, the API pages, the rendered blocks.

The site itself is built by tests/docs/test_site.py (env); these check the generator on its own, quickly.
"""
import importlib
import json
import os
import re

import pytest

from tools import docs_pages as D

ROOT = D.ROOT


def test_links_to_site_pages_become_project_links_and_others_point_at_the_repository():
    repo = D.repository_url()
    text = ("[run](01_quick_start.ipynb) [gpu](../docs/gpu.md#batch) [rows](../benchmarks/gridpg.json) "
            "[web](https://example.org/x) [here](#section) ![img](pic.png)")
    out = D.rewrite_links(text, "notebooks/README.md")
    assert "[run](project:/tutorials/01_quick_start.ipynb)" in out
    assert "[gpu](project:/gpu.md#batch)" in out
    assert f"[rows]({repo}/blob/main/benchmarks/gridpg.json)" in out
    assert "[web](https://example.org/x)" in out and "[here](#section)" in out
    assert "![img](pic.png)" in out  # images are not links


def test_drop_heading_removes_only_a_leading_heading():
    assert D.drop_heading("## Title (issue 9)\n\nbody\n") == "body\n"
    assert D.drop_heading("body\n## Later\n") == "body\n## Later\n"


def test_nest_headings_puts_later_headings_under_the_first():
    text = "intro\n### Convergence\nx\n## Single\ny\n## Multi\n"
    assert D.nest_headings(text, 3) == "intro\n### Convergence\nx\n#### Single\ny\n#### Multi\n"
    assert D.nest_headings("# A\n## B\n", 2) == "## A\n### B\n"
    assert D.nest_headings("no heading", 2) == "no heading"


def test_api_modules_are_the_package_and_every_module_with_all():
    modules = D.api_modules()
    assert modules[0] == "saliency_widgets"
    for name in ("saliency_widgets.explainers", "saliency_widgets.registry", "saliency_widgets.metrics",
                 "saliency_widgets.widgets", "saliency_widgets.sanity"):
        assert name in modules
    assert not any(m.endswith("__main__") for m in modules)


def test_every_exported_name_is_documented_exactly_once():
    """Each object of every ``__all__`` gets one page (its home); the other modules that export it link there.
    Two pages for one object would be a Sphinx 'duplicate object description' warning, an error with -W."""
    modules = D.api_modules()
    homes = D.api_homes(modules)
    documented = {}
    for m in modules:
        module = importlib.import_module(m)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            home = homes[m][name]
            obj = getattr(module, name)
            assert getattr(importlib.import_module(home), name) is obj, (m, name, home)
            documented.setdefault(id(obj) if callable(obj) else (home, name), set()).add(f"{home}.{name}")
    twice = {k: v for k, v in documented.items() if len(v) > 1}
    assert not twice, f"documented at several places: {twice}"
    # a class is documented where it is defined (the longest module prefix that exports it)
    assert homes["saliency_widgets"]["Rise"] == "saliency_widgets.explainers"
    assert homes["saliency_widgets.registry"]["label_of"] in ("saliency_widgets.explainers", "saliency_widgets.registry")


def test_api_pages_list_every_name_and_autosummarise_only_the_homes():
    pages = D.api_pages()
    assert "index.rst" in pages
    top = pages["saliency_widgets.rst"]
    assert ":py:obj:`Rise <saliency_widgets.explainers.Rise>`" in top  # documented where it lives
    explainers = pages["saliency_widgets.explainers.rst"]
    assert re.search(r":toctree: generated\n(.|\n)*\n   Rise\n", explainers)
    for m in D.api_modules():
        assert f"   {m}\n" in pages["index.rst"] or pages["index.rst"].endswith(f"   {m}\n")


@pytest.mark.slow
def test_blocks_render_the_stored_json_without_issue_numbers():
    """Every block is rendered from its source; none names an issue (user-facing text); the GridPG block holds
    RISE's centred share from gridpg.json as the renderer prints it."""
    blocks = D.blocks()
    for name in ("methods-table.md", "verdict.md", "results-tables.md", "sanity.md", "gridpg.md", "gpu.md",
                 "gpu-summary.md", "notebooks-table.md", "randomisation-rule.md", "record.md", "wheel.md"):
        assert blocks.get(name, "").strip(), name
    for name, text in blocks.items():
        assert not re.search(r"\bissues? \d", text), f"{name} names an issue"
    with open(os.path.join(ROOT, "benchmarks", "gridpg.json"), encoding="utf-8") as f:
        rise = json.load(f)["methods"]["rise"]["energy_centred"]["mean"]
    assert f"| {rise:.3f} |" in blocks["gridpg.md"]


def test_every_generated_block_is_shown_by_a_page():
    """A block no page includes is work nobody sees; an include of a block that is not generated breaks the build."""
    pages = {}
    for dirpath, dirnames, files in os.walk(D.DOCS):
        dirnames[:] = [d for d in dirnames if d not in ("_build", "_generated", "api")]
        for f in files:
            if f.endswith(".md"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    pages[os.path.join(dirpath, f)] = fh.read()
    included = {os.path.basename(m) for text in pages.values()
                for m in re.findall(r"```\{include\} (\S*_generated/\S+)", text)}
    generated = set(D.BLOCK_NAMES)
    assert included == generated, (included - generated, generated - included)
