"""The package's layout keeps the architecture readable: measured from the source, as text (nothing is run).

* no import circle between the package's files;
* no import from a lower layer to a higher one (:data:`LAYERS`, bottom first);
* no private name (``_x``) imported from another module, except a package's own private modules;
* no function over :data:`MAX_LINES` lines (docstring included).

Every import counts, also one inside a function: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import saliency_widgets

ROOT = Path(saliency_widgets.__file__).parent
PACKAGE = "saliency_widgets"

#: bottom first; a module may import its own layer and those below
LAYERS = [
    ["explanation", "occluder", "truth"],
    ["models"],
    ["explainers", "metrics", "demo"],
    ["registry", "datasets", "plotting", "images"],
    ["sanity", "session"],
    ["evaluation", "widgets", "coursework"],
    ["grading"],
    ["reproduce", "verdict", "__init__"],
    ["cli"],
    ["__main__"],
]
#: known exceptions, each with the reason it stands
UPWARD_ALLOWED: set = set()
MAX_LINES = 80
LONG_ALLOWED = {"saliency_widgets.widgets.explain_widget:ExplainWidget.__init__"}  # to split with the widget's work


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = (PACKAGE,) + path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


MODULES = dict(_modules())


def _imports(name, path):
    """(line, target module, imported name or None) for every import of the package in one file."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == PACKAGE:
                    yield node.lineno, a.name, None
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            if target.split(".")[0] != PACKAGE:
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                yield node.lineno, sub if sub in MODULES else target, a.name


def _layer(module):
    top = module.split(".")[1] if "." in module else "__init__"  # the package itself: its __init__
    for k, layer in enumerate(LAYERS):
        if top in layer:
            return k
    raise AssertionError(f"{module} is on no layer of tests/test_layout.py: add it where it belongs")


def _graph():
    graph = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for _, target, _ in _imports(name, path):
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != name:
                graph[name].add(target)
    return graph


def test_no_import_circle():
    graph = _graph()
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    # a package's __init__ that hands on names of its own modules is the package's face, not a circle
    circles = [c for c in circles if not all(m == c[0] or m.startswith(c[0] + ".") for m in c)]
    assert not circles, f"import circles: {circles}"


def test_no_import_runs_up_a_layer():
    upward = []
    for name, path in MODULES.items():
        for line, target, _ in _imports(name, path):
            top = ".".join(target.split(".")[:2])
            if _layer(target) > _layer(name) and (name, top) not in UPWARD_ALLOWED:
                upward.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}")
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_private_name_is_imported_from_another_module():
    found = []
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for line, target, imported in _imports(name, path):
            pieces = target.split(".") + ([imported] if imported and not target.endswith("." + imported) else [])
            for k, piece in enumerate(pieces):
                if piece.startswith("_") and not piece.startswith("__"):
                    if ".".join(pieces[:k]) != package:  # a package may use its own private modules
                        found.append(f"{path.relative_to(ROOT.parent)}:{line}: {'.'.join(pieces)}")
                    break
    assert not found, "private names imported across modules:\n" + "\n".join(found)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_is_over_80_lines(name):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    long = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{prefix}{child.name}"
                n = child.end_lineno - child.lineno + 1
                if n > MAX_LINES and f"{name}:{qual}" not in LONG_ALLOWED:
                    long.append(f"{qual} ({n} lines)")
                walk(child, qual + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, f"{prefix}{child.name}.")
    walk(tree, "")
    assert not long, f"{name}: functions over {MAX_LINES} lines: {long}"
