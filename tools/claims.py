"""Every number the prose states comes from a stored measurement, and is checked: ``python -m tools.claims``.

A repository tool (not in the installed package).  The prose -- README.md, benchmarks/RESULTS.md, the docs
pages (docs/**/*.md), the runbook (notebooks/README.md) and the notebooks' markdown cells -- states figures in
two ways only:

* **generated blocks**, between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``: rendered by the
  function :data:`BLOCKS` registers under NAME from a stored JSON file (``results.json`` written by
  ``python -m saliency_widgets reproduce``, a benchmark's ``--json`` file...), rewritten by
  ``python -m tools.claims``, and tested to be what the code renders today (a figure typed into a block, or a
  JSON changed without re-rendering, fails).  Sections that a benchmark script publishes itself between its
  own markers (``<!-- bench_gpu:start -->`` ... ``<!-- bench_gpu:end -->``) are checked the same way by that
  script's test.
* **recorded figures** everywhere else: each figure must have an entry in ``claims.json`` naming the file it
  is printed in, the figure as printed, the JSON file it comes from and the *key path* of its value inside
  that file (``"convergence_single/RISE/pointing/3"``; list indices are numbers), with ``scale`` (100 for a
  percentage of a fraction) -- and the printed figure must be that value at the printed precision
  (:func:`recorded_problems`).

A *figure* is a number with a decimal point, a percent sign or a ratio sign (``0.979``, ``93.0%``, ``5.2x``),
or a whole number followed by a unit of measurement (``31 min``, ``26 cases``, ``694 MB``: :data:`UNITS`),
outside code, links and HTML comments.  Settings are not figures: the few in :data:`SETTINGS` (a confidence
level, a threshold), each with its reason.
"""
from __future__ import annotations

import glob
import json
import os
import re
from decimal import Decimal
from typing import Callable, Iterator

__all__ = ["FIGURE", "UNITS", "SETTINGS", "BLOCKS", "prose_files", "figures", "prose_of", "render_block",
           "refresh_blocks", "claims_path", "tolerance", "unsourced", "recorded_problems", "value_at", "main",
           "ROOT"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository

#: units that make a whole number a measurement (a duration, a size, a count of what was measured)
UNITS = ("ms", "s", "min", "minutes", "minute", "h", "hours", "seconds", "KB", "kB", "MB", "GB", "TB", "KiB",
         "MiB", "GiB", "img/s", "images/s", "maps/s", "cases", "photos", "mosaics", "tests", "rows", "students",
         "entries", "pairs", "targets")
_UNIT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
#: a number with a decimal point, a percent or a ratio (5.2x, 59x), or a whole number with a unit
FIGURE = re.compile(r"(?<![\w.\-/#])(-?\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?)(?![\w.]*\d)"
                    r"(\s?%|x(?![A-Za-z0-9])|\s(?:" + _UNIT + r")(?![\w/]))?")

#: figures that are settings, not measurements, wherever they appear (the reason beside each)
SETTINGS = {
    "95%": "the confidence level of every interval",
    "50%": "the box-IoU threshold (min-max normalised raw map) and the sanity rule's line",
    "0.5": "the same threshold or line, as a fraction",
    "0.02": "the prototype's learning rate (notebook 02)",
    "2%": "the same learning rate, as a share",
    "16%": "15 px over a 96-px side, a setting of the pointing game",
    "7%": "15 px over a 224-px side, TorchRay's setting",
    "0.15": "SmoothGrad's noise setting",
    "10%": "a stated share of the budget used as a setting",
    "20%": "SmoothGrad's recommended noise range (Smilkov et al.), a setting",
    "2.0": "a licence's version (CC BY 2.0)",
    "3.10": "a Python version",
    "3.11": "a Python version",
    "0.875": "the ImageNet crop's ratio (224 / 256), a setting",
    "0.25 s": "the longest interval between partial maps, a setting",
    "75%": "JAX's default share of GPU memory taken at start, a setting of JAX",
    "1%": "a map's range against its level below which float32 rounding shows, a stated bound",
}

#: the files whose prose is checked, as glob patterns relative to the repository root
PROSE_GLOBS = ("README.md", "benchmarks/RESULTS.md", "docs/**/*.md", "notebooks/README.md", "notebooks/*.ipynb")
#: folders of generated or vendored pages that are not prose of ours
_SKIP = ("docs/_build/", "docs/_generated/", "docs/api/", "docs/tutorials/runbook.md")  # built by tools/docs_pages.py

_GENERATED = re.compile(r"<!-- generated: (?P<name>[\w-]+)[^>]*-->\n(?P<body>.*?)<!-- end generated -->", re.S)
# sections published by a benchmark script between its own markers, checked by that script's test
_MARKED = re.compile(r"<!-- (?P<mark>[\w-]+):start -->.*?<!-- (?P=mark):end -->"
                     r"|<!-- notebooks-table[^>]*-->.*?<!-- end notebooks-table -->"
                     r"|<!-- grading-time[^>]*-->.*?<!-- end grading-time -->", re.S)
#: RESULTS.md's sections that a benchmark script writes whole, heading included (its ``SECTION``), from the JSON
#: it stores; each script's test checks that the section is what its ``render`` gives from that JSON
SCRIPT_SECTIONS = {
    "bench_gridpg": "## Grid pointing game on real photos -- `bench_gridpg.py`",
    "bench_gradients": "## Gradient methods' conventions on real photos -- `bench_gradients.py`",
    "bench_install": "## Install footprint -- `bench_install.py`",
    "bench_own_model": "## A user's own model on a CPU: explanation cost against its forward pass",
}
_SCRIPT_SECTION = re.compile("|".join(re.escape(h) + r"\n.*?(?=\n## |\Z)" for h in SCRIPT_SECTIONS.values()), re.S)
_CODE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`|<!--.*?-->|\]\([^)]*\)|https?://\S+|\{[\w-]+\}`[^`]*`", re.S)
COMMAND = "python -m saliency_widgets reproduce"


def claims_path() -> str:
    """Where ``claims.json`` lives: beside this tool."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "claims.json")


def prose_files(root: str = ROOT) -> list[str]:
    """The checked files, relative to ``root``."""
    out = []
    for pattern in PROSE_GLOBS:
        for path in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            rel = os.path.relpath(path, root)
            if not rel.startswith(_SKIP) and rel not in out:
                out.append(rel)
    return out


def prose_of(path: str) -> str:
    """The prose of a file: a markdown file as it is, a notebook's markdown cells joined."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not path.endswith(".ipynb"):
        return text
    cells = json.loads(text)["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _strip(text: str) -> str:
    """``text`` without generated blocks, published sections, code, comments and link targets."""
    return _CODE.sub(" ", _SCRIPT_SECTION.sub(" ", _MARKED.sub(" ", _GENERATED.sub(" ", text))))


def figures(text: str) -> Iterator[tuple[str, float, int, str]]:
    """``(as printed, value, decimals, unit)`` for every figure of ``text`` (see the module docstring)."""
    for m in FIGURE.finditer(_strip(text)):
        number, unit = m.group(1), (m.group(2) or "")
        if not unit and "." not in number:
            continue  # a whole number without a unit: an ordinal, a version, a setting named by its unit-less use
        mantissa = number.split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        yield number + unit, float(number.replace(",", "")), decimals, unit.strip()


def tolerance(printed: str) -> float:
    """Half a unit of the last printed digit: 93.0% -> 0.05, 0.979 -> 5e-4, 9.0e-5 -> 5e-7, 31 min -> 0.5."""
    number = FIGURE.match(printed.strip())
    text = number.group(1) if number else printed.rstrip("%x")
    return 0.5 * 10.0 ** Decimal(text.replace(",", "")).as_tuple().exponent


# -- generated blocks -------------------------------------------------------------------------------------

def _results():
    from saliency_widgets.reproduce import shipped_results
    return shipped_results()


def _label(key):
    from saliency_widgets.registry import get_method
    return get_method(key).label


def _pct(v):
    return f"{v:.1f}%"


def _ci(lo_hi):
    return f"[{lo_hi[0]:.1f}, {lo_hi[1]:.1f}]"


def _readme_verdict() -> str:
    from saliency_widgets.metrics.intervals import format_interval
    from saliency_widgets.verdict import demo_figures
    results = _results()
    c = demo_figures(results)
    paper, default, rise = _label("mask-update-paper"), _label("mask-update"), _label("rise")
    n_single = results["config"]["n_single"]
    n_pairs = len({(r["image"], r["target"]) for r in results["rows_multi"]})

    def acc(scope, m):
        return f"{_pct(c[f'{scope}/{m}/pointing'])} {_ci(c[f'{scope}/{m}/pointing_ci'])}"

    def diff(scope, ref):
        d, lo, hi = c[f"{scope}/paper minus {ref}"]
        return f"{d:+.1f} points {format_interval(lo, hi, decimals=1)}"
    return (f"On the demo scenes ({results['config']['budget']} forward passes each, `reproduce`'s tables, "
            f"shipped in `saliency_widgets/demo/data/results.json`), the paper's "
            f"method ({paper}) reaches a pointing accuracy of {acc('single', paper)} against RISE's "
            f"{acc('single', rise)} on {n_single} single-object scenes, and {acc('multi', paper)} against "
            f"{acc('multi', rise)} on {n_pairs} (image, class) pairs of multi-object scenes: paper minus RISE "
            f"{diff('single', 'rise')} single-object and {diff('multi', 'rise')} multi-object (paired "
            f"bootstrap over images, 95%). The package's default reading ({default}) reaches "
            f"{acc('single', default)} and {acc('multi', default)}; paper minus default reading "
            f"{diff('single', 'mask-update')} and {diff('multi', 'mask-update')}.\n")


def _sanity_wins(results, c) -> str:
    """Each metric's wins of the ground-truth mask over a random map: ``pointing 24/30 (80.0%), ...``."""
    sanity = results.get("sanity_single") or {}
    return ", ".join(f"{k} {w}/{sanity['n']} ({_pct(c['sanity/' + k])})" for k, w in sanity.get("wins", {}).items())


def _sanity() -> str:
    """The metric sanity check of the shipped run as a table, judged by the package's own rule (the docs)."""
    from saliency_widgets.sanity.metrics import SANITY_RULE, SanityResult
    from saliency_widgets.verdict import demo_figures
    results = _results()
    c = demo_figures(results)
    stored = results.get("sanity_single") or {}
    if not stored:
        return "The shipped results hold no metric sanity check.\n"
    s = SanityResult(**stored)
    lines = [f"On {s.n} single-object demo scenes of the shipped run (saliency_widgets {results['version']}, "
             f"{results['date']}). The rule: {SANITY_RULE}.", "",
             "| metric | wins | ties | win rate | 95% Wilson interval | passes |", "| --- | --- | --- | --- | --- | --- |"]
    for k, w in s.wins.items():
        lo, hi = s.interval(k)
        lines.append(f"| {k} | {w}/{s.n} | {s.ties.get(k, 0)} | {_pct(c['sanity/' + k])} | "
                     f"[{100 * lo:.1f}, {100 * hi:.1f}] | {'yes' if s.passed(k) else 'no'} |")
    return "\n".join(lines) + "\n"


def _results_tables() -> str:
    from saliency_widgets.reproduce import convergence_markdown
    from saliency_widgets.verdict import demo_figures, verdict
    results = _results()
    c = demo_figures(results)
    cfg = results["config"]
    n_pairs = len({(r["image"], r["target"]) for r in results["rows_multi"]})
    sanity = _sanity_wins(results, c)
    return (f"Stored run: saliency_widgets {results['version']}, {results['date']}, {c['minutes']:.0f} min on "
            f"the machine that made it.\n\n"
            f"Single-object scenes ({cfg['n_single']}):\n\n{results['markdown_single']}\n\n"
            f"Metric sanity check on these scenes (the ground-truth mask against a uniform random map; wins, "
            f"ties counted as failures): {sanity}.\n\n"
            f"Multi-object scenes ({cfg['n_multi']} scenes, {n_pairs} (image, class) pairs):\n\n"
            f"{results['markdown_multi']}\n\n"
            f"**Verdict.** {verdict(results)}\n\n"
            f"### Convergence\n\n"
            + convergence_markdown(results["convergence_single"], results["convergence_multi"],
                                   results["convergence_multi_p0"]))


def _methods_table() -> str:
    from saliency_widgets.registry import methods_table
    return methods_table() + "\n"


def modules_table() -> str:
    """The package's public modules, each with the first line of its docstring and its ``__all__``."""
    import importlib
    import saliency_widgets
    names = ["explainers", "registry", "models", "metrics", "evaluation", "datasets", "sanity", "truth",
             "session", "widgets", "plotting", "images", "occluder", "explanation", "verdict", "reproduce",
             "coursework", "demo", "cli"]
    rows = ["| module | what it holds | public names |", "| --- | --- | --- |"]
    for name in names:
        mod = importlib.import_module(f"saliency_widgets.{name}")
        doc = (mod.__doc__ or "").strip().splitlines()[0].rstrip(".")
        public = ", ".join(f"`{n}`" for n in getattr(mod, "__all__", []))
        rows.append(f"| `saliency_widgets.{name}` | {doc} | {public} |")
    top = ", ".join(f"`{n}`" for n in saliency_widgets.__all__)
    return "\n".join(rows + ["", f"`import saliency_widgets` gives: {top}."])


def _modules_table() -> str:
    return modules_table() + "\n"


def _bench(name: str):
    import importlib.util
    import sys
    here = os.path.join(ROOT, "benchmarks")
    if here not in sys.path:
        sys.path.insert(0, here)  # the scripts import _common beside them
    spec = importlib.util.spec_from_file_location(name, os.path.join(here, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench_block(script: str, stored: str, render: str = "render") -> Callable[[], str]:
    """A block rendered by ``benchmarks/SCRIPT.py``'s function ``render`` from its stored JSON ``stored``."""
    def block() -> str:
        with open(os.path.join(ROOT, stored), encoding="utf-8") as f:
            data = json.load(f)
        return getattr(_bench(script), render)(data).rstrip("\n") + "\n"
    block.source = stored
    return block


#: ``{name: renderer}``: every generated block the prose may hold (a renderer takes no argument)
BLOCKS: dict[str, Callable[[], str]] = {
    "readme-verdict": _readme_verdict,
    "results-tables": _results_tables,
    "sanity": _sanity,
    "methods-table": _methods_table,
    "modules-table": _modules_table,
    "notebooks-sizing": bench_block("bench_notebooks", "benchmarks/notebooks.json", "from_json"),
    "bench-explainers": bench_block("bench_explainers", "benchmarks/explainers.json"),
    "bench-demo-model": bench_block("bench_demo_model", "benchmarks/demo_model.json"),
    "bench-metrics": bench_block("bench_metrics", "benchmarks/metrics.json"),
    "bench-widget": bench_block("bench_widget", "benchmarks/widget.json"),
    "bench-distributed": bench_block("bench_distributed", "benchmarks/distributed.json"),
    "bench-tests": bench_block("bench_tests", "benchmarks/tests.json"),
    "gridpg-notebook": bench_block("bench_gridpg", "benchmarks/gridpg.json", "notebook_prose"),
    "readme-tests": bench_block("bench_tests", "benchmarks/tests.json", "readme"),
}


def render_block(name: str) -> str:
    """The body of generated block ``name``."""
    if name not in BLOCKS:
        raise ValueError(f"no generated block {name!r}; expected one of {sorted(BLOCKS)}")
    return BLOCKS[name]()


def refresh_blocks(text: str) -> str:
    """``text`` with every generated block re-rendered (the header names the command)."""
    def one(m):
        name = m.group("name")
        return (f"<!-- generated: {name} by `python -m tools.claims` -->\n{render_block(name)}"
                f"<!-- end generated -->")
    return _GENERATED.sub(one, text)


def _refresh_notebook(path: str) -> bool:
    """Re-render the generated blocks of a notebook's markdown cells; True when the file changed."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    changed = False
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        new = refresh_blocks(text)
        if new != text:
            cell["source"] = new.splitlines(keepends=True)
            changed = True
    if changed:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
    return changed


# -- recorded figures -------------------------------------------------------------------------------------

def value_at(data, key: str):
    """The value at ``key`` ("a/b/3/c": keys and list indices) inside a loaded JSON document."""
    node = data
    for part in key.split("/"):
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"no {part!r} in {key!r}")
    return node


def unsourced(rel: str, text: str, claims: dict) -> list[str]:
    """The figures of ``text`` (prose of file ``rel``) that no recorded entry supports (settings excepted)."""
    recorded = {}
    for r in claims["recorded"]:
        if r["file"] == rel:
            recorded[r["figure"]] = recorded.get(r["figure"], 0) + 1
    missing = []
    for printed, *_ in figures(text):
        if printed in SETTINGS:
            continue
        if recorded.get(printed, 0) > 0:
            continue
        missing.append(printed)
    return missing


def recorded_problems(root: str, claims: dict) -> list[str]:
    """What is wrong with the recorded figures of ``claims``: an entry whose figure is no longer in its file,
    whose source or key path does not exist, or whose value, scaled, is not the printed figure at its printed
    precision."""
    problems, in_file, sources = [], {}, {}
    for r in claims["recorded"]:
        where = f"{r['file']}: {r['figure']}"
        if r["file"] not in in_file:
            path = os.path.join(root, r["file"])
            in_file[r["file"]] = {p for p, *_ in figures(prose_of(path))} if os.path.exists(path) else set()
        if r["figure"] not in in_file[r["file"]]:
            problems.append(f"{where}: no longer in the file (remove the entry)")
        if not r.get("source") or not r.get("key"):
            problems.append(f"{where}: names no source file and key path")
            continue
        if r["source"] not in sources:
            path = os.path.join(root, r["source"])
            sources[r["source"]] = json.load(open(path, encoding="utf-8")) if os.path.exists(path) else None
        if sources[r["source"]] is None:
            problems.append(f"{where}: source {r['source']} does not exist")
            continue
        try:
            value = float(value_at(sources[r["source"]], r["key"])) * float(r.get("scale", 1))
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            problems.append(f"{where}: {r['source']} has no number at {r['key']!r} ({exc})")
            continue
        printed = float(FIGURE.match(r["figure"]).group(1).replace(",", ""))
        tol = tolerance(r["figure"]) + 1e-9
        if abs(printed - value) > tol:
            problems.append(f"{where}: {r['source']} {r['key']} x {r.get('scale', 1)} is {value:.6g}, not "
                            f"{printed} within {tol:.2g}")
    return problems


def problems(root: str = ROOT) -> list[str]:
    """Everything wrong with the prose's figures under ``root``: stale generated blocks, figures with no
    recorded source, recorded figures that do not match their source."""
    with open(os.path.join(root, "tools", "claims.json") if root != ROOT else claims_path(), encoding="utf-8") as f:
        claims = json.load(f)
    out = []
    for rel in prose_files(root):
        path = os.path.join(root, rel)
        text = prose_of(path)
        stale = [m.group("name") for m in _GENERATED.finditer(text)
                 if m.group("body") != render_block(m.group("name"))]
        out += [f"{rel}: generated block {name!r} is not what the code renders (run `python -m tools.claims`)"
                for name in stale]
        out += [f"{rel}: {fig} has no recorded source" for fig in unsourced(rel, text, claims)]
    return out + recorded_problems(root, claims)


def main(argv=None) -> int:
    """Re-render every generated block of the prose; print what is still wrong (exit status 1 if anything)."""
    changed = []
    for rel in prose_files():
        path = os.path.join(ROOT, rel)
        if rel.endswith(".ipynb"):
            if _refresh_notebook(path):
                changed.append(rel)
            continue
        text = open(path, encoding="utf-8").read()
        new = refresh_blocks(text)
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
            changed.append(rel)
    print(f"re-rendered the generated blocks of {', '.join(changed) or 'no file (all were current)'}")
    left = problems()
    for line in left:
        print(line)
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
