"""The measured verdict on the paper's method, from the shipped results: what notebooks 03 and 05 print.

Computed from ``demo/data/results.json`` (written by ``python -m saliency_widgets reproduce``):
:func:`demo_figures` (every figure the package states about the demo scenes), :func:`paired_difference`
(one method's pointing accuracy minus another's, paired by image), :func:`verdict` (the comparison in plain
words, decided by the intervals) and :func:`convergence_intervals`.
"""
from __future__ import annotations

import numpy as np

from .metrics.intervals import format_interval
from .metrics.names import ROW_KEY

__all__ = ["paired_difference", "demo_figures", "verdict", "convergence_intervals"]


def paired_difference(rows, a: str, b: str, *, key: str = "hit") -> tuple[float, float, float]:
    """Pointing accuracy of method ``a`` minus that of ``b`` (points) with its 95% paired interval.

    TorchRay's accuracy (mean of per-class hit rates) of each method on the same (image, class)
    pairs; the interval is a percentile bootstrap over images (2000 resamples, seed 0) that resamples
    both methods' rows of an image together, so the pairing is kept.
    """
    from .metrics import bootstrap_ci, pointing_accuracy
    rows = [r for r in rows if r["method"] in (a, b)]
    if not any(r["method"] == a for r in rows) or not any(r["method"] == b for r in rows):
        raise ValueError(f"paired_difference needs rows of both {a!r} and {b!r}")

    def diff(rs):
        ra = [r for r in rs if r["method"] == a]
        rb = [r for r in rs if r["method"] == b]
        return 100 * (pointing_accuracy([(r["target"], r[key]) for r in ra])
                      - pointing_accuracy([(r["target"], r[key]) for r in rb]))
    lo, hi = bootstrap_ci(rows, diff)
    return diff(rows), lo, hi


def _label(key):
    from .registry import get_method
    return get_method(key).label


def demo_figures(results: dict) -> dict:
    """``{name: value}`` of every demo-scene figure the generated blocks print (percent in points)."""
    out = {}
    for scope in ("single", "multi"):
        for s in results[f"pointing_{scope}"]:
            m = s["method"]
            for k in ROW_KEY:
                out[f"{scope}/{m}/{k}"] = 100 * s[k]
                out[f"{scope}/{m}/{k}_ci"] = [100 * v for v in s[k + "_ci"]]
            for k in ("box_iou", "insertion", "deletion"):
                if s.get(k) is not None and np.isfinite(s[k]):
                    out[f"{scope}/{m}/{k}"] = s[k]
        for ref in ("mask-update", "rise"):
            d, lo, hi = paired_difference(results[f"rows_{scope}"], _label("mask-update-paper"), _label(ref))
            out[f"{scope}/paper minus {ref}"] = [d, lo, hi]
    sanity = results.get("sanity_single") or {}
    for k, wins in sanity.get("wins", {}).items():
        out[f"sanity/{k}"] = 100 * wins / sanity["n"]  # ties count as failures (the sanity rule)
    p0 = np.asarray(results["convergence_multi_p0"])
    out["p0"] = [float(np.median(p0)), float(np.quantile(p0, 0.25)), float(np.quantile(p0, 0.75))]
    for study in ("convergence_single", "convergence_multi"):
        for name, row in results[study].items():
            out[f"{study}/{name}"] = [100 * p for p in row["pointing"]]
    out["minutes"] = results["seconds"] / 60
    return out


def _pct(v):
    return f"{v:.1f}%"


def _ci(lo_hi):
    return f"[{lo_hi[0]:.1f}, {lo_hi[1]:.1f}]"


def _compare_words(name, ref, d, lo, hi) -> str:
    """The comparison in words, decided by the paired interval alone (no winner where it contains 0)."""
    ci = format_interval(lo, hi, decimals=1)
    if hi < 0:
        return f"{name} trails {ref} by {-d:.1f} points {ci}: the whole interval is below 0"
    if lo > 0:
        return f"{name} leads {ref} by {d:.1f} points {ci}: the whole interval is above 0"
    return (f"{name} minus {ref} is {d:+.1f} points {ci}: the interval contains 0, so these "
            f"scenes cannot tell them apart")


def verdict(results: dict | None = None) -> str:
    """The measured comparison of the paper's method, the default reading and RISE at equal forward passes,
    in plain words, with each accuracy's interval and the paired interval of each difference (notebooks
    03 and 05 print it)."""
    from .reproduce import shipped_results
    results = results or shipped_results()
    c = demo_figures(results)
    paper, default, rise = _label("mask-update-paper"), _label("mask-update"), _label("rise")
    lines = [f"At {results['config']['budget']} forward passes per map on the demo scenes (shipped results, "
             f"saliency_widgets {results['version']}, {results['date']}):"]
    for scope, what in (("single", "single-object scenes"), ("multi", "multi-object scenes")):
        accs = ", ".join(f"{m} {_pct(c[f'{scope}/{m}/pointing'])} {_ci(c[f'{scope}/{m}/pointing_ci'])}"
                         for m in (paper, default, rise))
        lines.append(f"- {what}: pointing accuracy (15 px) {accs};")
        for ref, key in ((rise, "rise"), (default, "mask-update")):
            lines.append("    " + _compare_words(f"the paper's method ({paper})", ref,
                                                 *c[f"{scope}/paper minus {key}"]) + ".")
    lines.append("(95% intervals: bootstrap over images; the differences pair the two methods on the same "
                 "images.)")
    return "\n".join(lines)


def convergence_intervals(results: dict, model) -> dict:
    """``{study: {reading: [(lo, hi) per checkpoint]}}``: cluster bootstrap over images, from the stored hits.

    The image of each target comes from the stored ids when the file has them, else from the study's
    targets rebuilt from the config (the same ones, :func:`~saliency_widgets.reproduce.convergence_cases`).
    """
    from .reproduce import convergence_cases, convergence_ci
    (_, s_cases), (_, m_cases) = convergence_cases(model, results["config"])
    built = {"convergence_single": [i for i, _ in s_cases], "convergence_multi": [i for i, _ in m_cases]}
    out = {}
    for study, images in built.items():
        out[study] = {}
        for name, row in results[study].items():
            ids = row.get("images", images)
            if any(len(h) != len(ids) for h in row["hits"]):
                raise ValueError(f"{study}/{name}: {len(ids)} image ids for {len(row['hits'][0])} targets")
            out[study][name] = [tuple(convergence_ci(h, ids)) for h in row["hits"]]
    return out
