"""Sphinx extension: write the site's generated pages before Sphinx reads any (``tools/docs_pages.py``).

Sphinx does not know that an API page depends on the module's source, so the API pages are read again at every
build: an edited docstring never leaves a stale page behind.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generate(app, config):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tools.docs_pages import generate
    generate(app.srcdir)


def _api_pages_are_always_outdated(app, env, added, changed, removed):
    return [doc for doc in env.found_docs if doc.startswith("api/") and doc not in added | changed]


def setup(app):
    app.connect("config-inited", _generate)
    app.connect("env-get-outdated", _api_pages_are_always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
