"""Sphinx extension: write the site's generated pages before Sphinx reads any (``tools/docs_pages.py``)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _generate(app, config):
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from tools.docs_pages import generate
    generate(app.srcdir)


def setup(app):
    app.connect("config-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
