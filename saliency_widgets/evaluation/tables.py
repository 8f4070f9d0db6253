"""The tables of an evaluation: :class:`Results` (rows that print as markdown) and the intervals it shows."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from .. import metrics as M
from ..metrics.intervals import (BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, bootstrap_mean_ci, bootstrap_pointing_ci,
                                 wilson_interval)
from ..metrics.causal import protocol_text
from ..metrics.names import ALL_METRICS, ROW_KEY

_MEANS = ("box_iou", "insertion", "deletion", "energy", "energy_centred")  # summarised as bootstrap means

__all__ = ["Results", "pointing_interval"]


class Results(list):
    """Rows (dicts) of an evaluation, one per (image, class, method); prints as a markdown table.

    Attributes
    ----------
    settings : dict, the metric settings and each method's params (the results file's header).
    sanity : SanityResult or None, the perfect-vs-random check on the same data.
    """

    def __init__(self, rows=(), *, settings=None, sanity=None):
        super().__init__(rows)
        self.settings = settings or {}
        self.sanity = sanity

    def summary(self) -> list[dict]:
        """Per method: n; pointing accuracy (TorchRay: mean of per-class rates) with ``*_ci`` = [lo, hi]
        (95% bootstrap over images; Wilson's for the pooled proportion when all entries hit or all
        missed, ``*_ci_kind`` says which); mean box IoU / AUCs with ``*_ci`` (bootstrap); seconds per map."""
        by_method = defaultdict(list)
        failed = defaultdict(int)
        for row in self:
            by_method[row["method"]]  # keep the method even when all its rows failed
            if "error" in row:
                failed[row["method"]] += 1
            else:
                by_method[row["method"]].append(row)
        out = []
        for method, rows in by_method.items():
            s = {"method": method, "n": len(rows)}
            if failed:
                s["failed"] = failed[method]
            if not rows:
                out.append(s)
                continue
            for key, name in (("hit", "pointing"), ("hit_strict", "pointing_strict")):
                if key in rows[0]:
                    s[name] = M.pointing_accuracy([(r["target"], r[key]) for r in rows])
                    s[name + "_ci"], s[name + "_ci_kind"] = pointing_interval(rows, key)
            for key in _MEANS:
                if key in rows[0]:
                    s[key] = float(np.mean([r[key] for r in rows]))
                    s[key + "_ci"] = list(bootstrap_mean_ci(rows, key))
            if "seconds" in rows[0]:
                s["seconds"] = float(np.mean([r["seconds"] for r in rows]))
            out.append(s)
        return out

    def _headers(self):
        m = self.settings.get("metrics", {})
        tol = m.get("tolerance", 15)
        rule, thr = m.get("iou_rule", "fraction"), m.get("iou_threshold", 0.5)
        region = f"≥ {thr:g} of min-max raw" if rule == "fraction" else f"top {100 * thr:g}% of raw"
        occ = m.get("occluder", "auto")
        occ = f"{occ:g}" if isinstance(occ, (int, float)) else occ
        # a file written before the protocol was recorded was scored with the earlier default
        protocol = m.get("protocol", "gauss-reflect")
        return {"pointing": f"pointing ({tol:g} px) [95% CI]", "pointing_strict": "pointing (strict) [95% CI]",
                "box_iou": f"box IoU ({region})",
                "insertion": f"insertion AUC ↑ ({protocol_text(protocol)}, occluder {occ})",
                "deletion": f"deletion AUC ↓ ({protocol_text(protocol, 'deletion')}, occluder {occ})",
                "energy": "energy share in box (Rao)", "energy_centred": "centred energy share in box"}

    def to_markdown(self) -> str:
        summary = self.summary()
        if not summary:
            return "(no results)"
        heads = dict(self._headers(), failed="failed")
        failed = set(self.sanity.failed) if self.sanity is not None else set()
        cols = [("method", "method"), ("n", "n"), ("failed", "failed")] + [
            (k, heads[k] + (" ⚠" if k in failed else "")) for k in ALL_METRICS] + [("seconds", "s / map")]
        cols = [c for c in cols if any(c[0] in s for s in summary)]
        lines = ["| " + " | ".join(c[1] for c in cols) + " |", "|" + "---|" * len(cols)]
        for s in summary:
            cells = []
            for key, _ in cols:
                if key not in s:
                    cells.append("–")
                elif key in ROW_KEY:
                    lo, hi = s[key + "_ci"]
                    mark = " †" if s[key + "_ci_kind"] == "wilson" else ""
                    cells.append(f"{100 * s[key]:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]{mark}")
                elif key in _MEANS:
                    lo, hi = s[key + "_ci"]
                    cells.append(f"{s[key]:.3f} [{lo:.3f}, {hi:.3f}]")
                elif key == "seconds":
                    cells.append(f"{s[key]:.3f}")
                else:
                    cells.append(str(s[key]))
            lines.append("| " + " | ".join(cells) + " |")
        tie = self.settings.get("metrics", {}).get("tie_seed", 0)
        lines += ["", f"One row per (image, class present); maps ranked by `Explanation.raw`, ties in a random order "
                      f"(tie_seed={tie}). Intervals: 95% percentile bootstrap over images ({BOOTSTRAP_RESAMPLES} "
                      f"resamples, seed {BOOTSTRAP_SEED}); pointing = mean of per-class hit rates (TorchRay)."]
        if any(s.get(k + "_ci_kind") == "wilson" for s in summary for k in ROW_KEY):
            lines.append("† every entry hit (or every entry missed): the bootstrap has no spread, so the interval "
                         "is Wilson's for the pooled proportion hits / entries.")
        errors = [r for r in self if "error" in r]
        if errors:
            first = errors[0]
            lines.append(f"{len(errors)} maps failed and are not scored (their rows hold the error; they are "
                         f"recomputed on resume), e.g. image {first['image']}, class {first['target']}, "
                         f"{first['method']}: {first['error']}")
        if self.sanity is not None:
            shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in self.sanity.share.items()
                               if any(k in s for s in summary))
            lines.append(f"Sanity check (the ground-truth mask as a map vs a uniform random map, first "
                         f"{self.sanity.n} entries, ties count as losses): the mask wins on {shares}; a metric "
                         f"passes when the 95% Wilson lower bound of its win rate is above "
                         f"{100 * self.sanity.threshold:.0f}%.")
            for k in ALL_METRICS:
                if k in failed and any(k in s for s in summary):
                    lo = self.sanity.interval(k)[0]
                    lines.append(f"⚠ {heads[k]}: the ground-truth mask beats a random map on "
                                 f"{100 * self.sanity.share[k]:.0f}% of {self.sanity.n} images, Wilson 95% lower "
                                 f"bound {100 * lo:.0f}%, not above {100 * self.sanity.threshold:.0f}% (sanity "
                                 f"check): do not rank methods on it.")
        return "\n".join(lines)

    def pointing_table(self, class_names=None, *, key: str = "hit") -> str:
        """Per-class pointing accuracy, "all" and "difficult" subsets per method, as markdown.

        TorchRay's benchmark layout: one line per class (hits / entries), and a
        last line with the mean of the per-class rates (its reported number).
        "difficult" reads each row's EBP flag (set by the datasets and by
        evaluate(); see :func:`saliency_widgets.datasets.ebp_difficult`).

        Parameters
        ----------
        class_names : sequence or dict {class index: name}, optional
        key : "hit" (pointing with the tolerance) or "hit_strict"
        """
        scored = [r for r in self if "error" not in r and key in r]
        if not scored:
            return "(no pointing results)"
        methods = list(dict.fromkeys(r["method"] for r in scored))
        classes = sorted({r["target"] for r in scored})
        names = dict(enumerate(class_names)) if isinstance(class_names, (list, tuple)) else dict(class_names or {})
        tally = defaultdict(lambda: [0, 0])  # (method, subset, class) -> [hits, entries]
        for r in scored:
            for subset in ("all", "difficult"):
                if subset == "difficult" and not r.get("difficult"):
                    continue
                t = tally[(r["method"], subset, r["target"])]
                t[0] += bool(r[key])
                t[1] += 1
        head = ["class"] + [f"{m} ({subset})" for m in methods for subset in ("all", "difficult")]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        means = {}
        for c in classes:
            cells = [str(names.get(c, c))]
            for m in methods:
                for subset in ("all", "difficult"):
                    h, n = tally.get((m, subset, c), (0, 0))
                    cells.append(f"{100 * h / n:.1f}% ({h}/{n})" if n else "–")
                    if n:
                        means.setdefault((m, subset), []).append(h / n)
            lines.append("| " + " | ".join(cells) + " |")
        cells = ["**mean of classes**"]
        for m in methods:
            for subset in ("all", "difficult"):
                v = means.get((m, subset))
                cells.append(f"**{100 * float(np.mean(v)):.1f}%**" if v else "–")
        lines.append("| " + " | ".join(cells) + " |")
        tol = self.settings.get("metrics", {}).get("tolerance", 15)
        lines += ["", f"Pointing game ({'strict' if key == 'hit_strict' else f'{tol:g} px tolerance'}), one entry "
                      "per (image, class present); the mean is over classes with entries (TorchRay). "
                      "difficult: EBP's subset (the class covers < 1/4 of the image and another class is present)."]
        n_failed = sum("error" in r for r in self)
        if n_failed:
            lines.append(f"{n_failed} maps failed and are left out (see the rows' \"error\").")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def pointing_interval(rows, key):
    """([lo, hi], kind): the bootstrap over images; Wilson's for the pooled proportion when every
    entry hit or every entry missed (then every resample gives the same value: a zero-width interval)."""
    k = sum(bool(r[key]) for r in rows)
    if k in (0, len(rows)):
        return list(wilson_interval(k, len(rows))), "wilson"
    return list(bootstrap_pointing_ci(rows, key)), "bootstrap"
