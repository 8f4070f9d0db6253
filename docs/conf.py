"""Sphinx configuration of the documentation site: ``bash .ci/docs`` builds it (offline, warnings as errors).

The tables of the science pages, the API pages, the tutorials and the runbook are generated before each build
by ``tools/docs_pages.py`` (the ``sw_generated`` extension); nothing is downloaded and no notebook is run:
the tutorials show their stored outputs.
"""
import os
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, ROOT)

with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    _project = tomllib.load(f)["project"]

project = "saliency_widgets"
author = "the saliency_widgets authors"
copyright = "the saliency_widgets authors, MIT licence"
release = version = _project["version"]

extensions = [
    "sw_generated",              # writes _generated/, api/, tutorials/ (tools/docs_pages.py)
    "myst_nb",                   # markdown pages and the notebooks (stored outputs, never executed)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "images/*.json", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# -- MyST and the notebooks ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"            # the tutorials are rendered with the outputs they were saved with
nb_ipywidgets_js = {}                # no widget JavaScript from a CDN: widgets show their stored picture
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True

# -- API reference ---------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"           # numpydoc's Parameters sections carry the types, with shapes
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML ------------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"saliency_widgets {release}"
html_static_path = []
html_theme_options = {
    "icon_links": [{"name": "Repository", "url": _project["urls"]["Repository"], "icon": "fa-brands fa-github"}],
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_last_updated_fmt = None
html_show_sourcelink = False
