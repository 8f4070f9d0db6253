"""Old import paths of modules that moved, kept working for one release with a DeprecationWarning.

``import saliency_widgets.distributed`` (or ``from saliency_widgets.metrics.sanity import ...``)
gives the module at its new path, after a :class:`DeprecationWarning` that names it.  The old
paths are aliases of the new modules, not copies: a name patched on one is patched on the other.
They are resolved by a finder on ``sys.meta_path`` (installed by ``saliency_widgets/__init__``),
so no file stands at the old path and nothing below imports upward through it.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__all__ = ["MOVED", "REMOVED_IN", "moved_warning", "install"]

REMOVED_IN = "0.2"
#: old module path -> new module path
MOVED = {
    "saliency_widgets.distributed": "saliency_widgets.evaluation.cluster",
    "saliency_widgets.metrics.sanity": "saliency_widgets.sanity.metrics",
}


def moved_warning(old: str, new: str, *, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} moved to {new}; the old path works until saliency_widgets {REMOVED_IN}",
                  DeprecationWarning, stacklevel=stacklevel)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path in :data:`MOVED` and loads it as the new module itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        moved_warning(spec.name, MOVED[spec.name], stacklevel=3)
        module = importlib.import_module(MOVED[spec.name])
        self._spec = module.__spec__  # the import system overwrites __spec__: restored in exec_module
        return module

    def exec_module(self, module):
        module.__spec__ = self._spec


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.insert(0, _Alias())
