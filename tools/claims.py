"""Every number the prose states, with the command that made it: ``python -m tools.claims`` (repository tool).

The prose (README.md, benchmarks/RESULTS.md, the notebooks' markdown cells) states two kinds of figures:

* **demo-scene figures**, computed here from the shipped ``demo/data/results.json`` (made by
  ``python -m saliency_widgets reproduce``): the blocks between ``<!-- generated: ... -->`` and
  ``<!-- end generated -->`` are rendered by :func:`render_block` from that file and rewritten by
  ``python -m tools.claims``, never typed;
* **recorded measurements** (benchmark runs, install timings): each stored in ``claims.json`` with the
  script that measured it, the commit that wrote it into the prose (its code stamp) and that commit's date;
  where the run stored its figures in a JSON file (``"source"``), the printed value must be one of that
  file's numbers (as stored, or times 100 for a percentage) within its printed precision, and an entry whose
  figure is no longer in its file is reported (:func:`recorded_problems`).

A *figure* is a number with a decimal point, a percent sign or a ratio sign (``0.979``, ``93.0%``,
``5.2x``) outside code spans, fenced code and generated blocks; integers (counts, sizes, years, issue
numbers, "2 cores", "15 px") are settings, not claims, and so are the few decimals and percentages in
:data:`SETTINGS` (a confidence level, a threshold).  ``tests/test_claims.py`` checks every figure of every
prose file against ``claims.json`` within its printed precision.
"""
from __future__ import annotations

import json
import os
import re
from typing import Iterator

import numpy as np

from saliency_widgets.verdict import demo_figures

__all__ = ["FIGURE", "SETTINGS", "PROSE", "figures", "prose_of", "render_block", "refresh_blocks",
           "build_claims", "claims_path", "tolerance", "unsourced", "recorded_problems"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository

#: a number with a decimal point (not a version such as 0.1.0), a percent or a ratio ("5.2x", "59x")
FIGURE = re.compile(r"(?<![\w.])(-?\d+(?:,\d{3})*(?:\.\d+)?(?:e-?\d+)?)(?![\w.]*\d)(\s?%|x(?![A-Za-z0-9]))?")

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
}

#: the prose files the claims cover, relative to the repository root
PROSE = ("README.md", "benchmarks/RESULTS.md")

_GENERATED = re.compile(r"<!-- generated: (?P<name>[\w-]+)[^>]*-->\n(?P<body>.*?)<!-- end generated -->", re.S)
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
COMMAND = "python -m saliency_widgets reproduce"


def claims_path() -> str:
    """Where ``claims.json`` lives: beside the shipped results file."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "claims.json")


def prose_of(path: str) -> str:
    """The prose of a file: a markdown file as it is, a notebook's markdown cells joined."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not path.endswith(".ipynb"):
        return text
    cells = json.loads(text)["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def figures(text: str) -> Iterator[tuple[str, float, int, str]]:
    """``(as printed, value, decimals, unit)`` for every figure outside code and generated blocks."""
    text = _GENERATED.sub("", _CODE.sub("", text))
    for m in FIGURE.finditer(text):
        number, unit = m.group(1), (m.group(2) or "").strip()
        if not unit and "." not in number:
            continue  # an integer: a count, a size, a year, an issue number
        mantissa = number.split("e")[0]
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        yield number + unit, float(number.replace(",", "")), decimals, unit


# -- demo-scene figures, computed from results.json ----------------------------------------------------

def _pct(v):
    return f"{v:.1f}%"


def _ci(lo_hi):
    return f"[{lo_hi[0]:.1f}, {lo_hi[1]:.1f}]"


def _label(key):
    from saliency_widgets.registry import get_method
    return get_method(key).label


def _readme_verdict(results, c) -> str:
    paper, default, rise = _label("mask-update-paper"), _label("mask-update"), _label("rise")
    n_single = results["config"]["n_single"]
    n_pairs = len({(r["image"], r["target"]) for r in results["rows_multi"]})

    def acc(scope, m):
        return f"{_pct(c[f'{scope}/{m}/pointing'])} {_ci(c[f'{scope}/{m}/pointing_ci'])}"

    def diff(scope, ref):
        d, lo, hi = c[f"{scope}/paper minus {ref}"]
        return f"{d:+.1f} points [{lo:+.1f}, {hi:+.1f}]"
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


def _sanity(results, c) -> str:
    """The metric sanity check of the shipped run as a table, judged by the package's own rule (the docs)."""
    from saliency_widgets.sanity.metrics import SANITY_RULE, SanityResult
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


def _results_tables(results, c) -> str:
    from saliency_widgets.reproduce import convergence_markdown
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
            f"**Verdict.** {_readme_verdict(results, c)}\n"
            f"### Convergence\n\n"
            + convergence_markdown(results["convergence_single"], results["convergence_multi"],
                                   results["convergence_multi_p0"]))


def render_block(name: str, results: dict | None = None) -> str:
    """The body of generated block ``name``, from ``results`` (default: the shipped results file)."""
    from saliency_widgets.reproduce import shipped_results
    results = results or shipped_results()
    c = demo_figures(results)
    blocks = {"readme-verdict": _readme_verdict, "results-tables": _results_tables, "sanity": _sanity}
    if name not in blocks:
        raise ValueError(f"no generated block {name!r}; expected one of {sorted(blocks)}")
    return blocks[name](results, c)


def refresh_blocks(text: str, results: dict | None = None) -> str:
    """``text`` with every generated block re-rendered (the header names the command and the code)."""
    def one(m):
        name = m.group("name")
        return (f"<!-- generated: {name} by `python -m tools.claims` from results.json -->\n"
                f"{render_block(name, results)}<!-- end generated -->")
    return _GENERATED.sub(one, text)


def _shipped():
    from saliency_widgets.reproduce import shipped_results
    return shipped_results()


def tolerance(printed: str) -> float:
    """Half a unit of the last printed digit: 93.0% -> 0.05, 0.979 -> 5e-4, 9.0e-5 -> 5e-7."""
    from decimal import Decimal
    return 0.5 * 10.0 ** Decimal(printed.rstrip("%x").replace(",", "")).as_tuple().exponent


def _flat(values):
    for v in values:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield float(v)


def unsourced(rel: str, text: str, claims: dict) -> list[str]:
    """The figures of ``text`` (prose of file ``rel``) that no claim supports (settings excepted)."""
    demo = list(_flat(claims["demo"]["claims"].values()))
    recorded = {(r["file"], r["figure"]) for r in claims["recorded"]}
    missing = []
    for printed, value, _, _ in figures(text):
        if printed in SETTINGS or (rel, printed) in recorded:
            continue
        tol = tolerance(printed) + 1e-9
        if not any(abs(value - v) <= tol for v in demo):
            missing.append(printed)
    return missing


def _numbers(obj) -> Iterator[float]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield float(obj)


_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_JSON_NAMED = re.compile(r"benchmarks/[\w/.-]+\.json")


def recorded_problems(root: str, claims: dict) -> list[str]:
    """What is wrong with the recorded measurements of ``claims``: an entry whose figure is no longer in its
    file, a measurement without a commit, a command naming a JSON file the entry does not take as its
    ``source``, a figure that is not a number of its source file (as stored, or x 100 for a percentage)."""
    problems, in_file, numbers = [], {}, {}
    for r in claims["recorded"]:
        where = f"{r['file']} line {r.get('line')}: {r['figure']}"
        if r["file"] not in in_file:
            in_file[r["file"]] = {p for p, *_ in figures(prose_of(os.path.join(root, r["file"])))}
        if r["figure"] not in in_file[r["file"]]:
            problems.append(f"{where}: no longer in the file (remove the entry)")
        if r["kind"] == "measurement" and (not _COMMIT.fullmatch(r.get("code") or "") or set(r["code"]) == {"0"}):
            problems.append(f"{where}: code {r.get('code')!r} is not a commit")
        named = _JSON_NAMED.search(r["command"])
        if named and r.get("source") != named.group(0):
            problems.append(f"{where}: its command names {named.group(0)}, its source is {r.get('source')!r}")
        if not r.get("source"):
            continue
        if r["source"] not in numbers:
            path = os.path.join(root, r["source"])
            numbers[r["source"]] = list(_numbers(json.load(open(path, encoding="utf-8")))) if os.path.exists(path) else None
        if numbers[r["source"]] is None:
            problems.append(f"{where}: source {r['source']} does not exist")
            continue
        value, tol = float(r["figure"].rstrip("%x").replace(",", "")), tolerance(r["figure"]) + 1e-9
        if not any(abs(value - scale * v) <= tol for v in numbers[r["source"]] for scale in (1.0, 100.0)):
            problems.append(f"{where}: not a number of {r['source']} (within {tol:.2g})")
    return problems


# -- the claims file --------------------------------------------------------------------------------------

def build_claims(root: str, recorded: list, results: dict | None = None) -> dict:
    """The claims file: the demo-scene figures (from results.json) and the recorded measurements."""
    results = results or _shipped()
    return {"about": __doc__.split("\n\n")[0],
            "demo": {"command": COMMAND, "version": results["version"], "date": results["date"],
                     "source": "saliency_widgets/demo/data/results.json", "claims": demo_figures(results)},
            "recorded": recorded}


def main(argv=None) -> int:
    """Rewrite the generated blocks of the prose and ``claims.json`` (keeping its recorded measurements)."""
    root = ROOT
    results = _shipped()
    for rel in PROSE:
        path = os.path.join(root, rel)
        text = open(path, encoding="utf-8").read()
        new = refresh_blocks(text, results)
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
    recorded = []
    if os.path.exists(claims_path()):
        recorded = json.load(open(claims_path(), encoding="utf-8")).get("recorded", [])
    with open(claims_path(), "w", encoding="utf-8") as f:
        json.dump(build_claims(root, recorded, results), f, indent=1)
        f.write("\n")
    print(f"wrote {claims_path()} and the generated blocks of {', '.join(PROSE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
