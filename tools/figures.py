"""The pictures of README and the documentation, made from the package: ``python -m tools.figures``.

Writes, under ``docs/images/`` (``--out`` elsewhere), each PNG with a JSON beside it that lists what the
picture shows (its labels and, for the verdict, the values drawn), so that a test can rebuild a picture
from the current code and compare it with the committed one:

* ``gallery.png``: every method the widget offers, one row each, labelled with
  :func:`~saliency_widgets.registry.label_of` (budget included), on three bundled photographs with
  EfficientNet-Lite0 and on a demo scene with the demo model (the target object's box drawn);
* ``verdict.png``: the paper's method against RISE and the package's default reading at equal forward
  passes, from the shipped results (pointing accuracy with its interval, and the paired differences).

Repository tooling: nothing here is installed with the package.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import time

import numpy as np

__all__ = ["GALLERY_PHOTOS", "GALLERY_PASSES", "gallery_budget", "gallery_columns", "gallery_cells",
           "draw_gallery", "verdict_values", "draw_verdict", "save_png", "main"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "docs", "images")

#: the bundled photographs of the gallery, each explained for the first ImageNet class it lists
GALLERY_PHOTOS = ("cat", "coffee", "china")
#: the largest budget any gallery map gets (forward passes, or samples/steps of a gradient method)
GALLERY_PASSES = 250
#: the demo scene of the gallery (``make_scenes(1, objects=(2, 2), seed=3)``, as in the quick start)
SCENE_SEED = 3
MAX_BYTES = 300_000


def gallery_budget(spec) -> int | None:
    """The budget a method gets in the gallery: the widget's own, at most :data:`GALLERY_PASSES`."""
    if spec.budget is None:
        return None
    return max(spec.budget.low, min(spec.ui_budget, GALLERY_PASSES))


def gallery_columns():
    """``[(title, model, image, target, box)]``: the three photographs, then the demo scene."""
    from saliency_widgets.demo import (CLASS_NAMES, PHOTOS, load_imagenet_model, load_model, load_photo,
                                       make_scenes)
    from saliency_widgets.models import as_model
    net = load_imagenet_model("efficientnet-lite0")
    if hasattr(net, "eval"):
        net.eval()
    names = net.class_names
    adapter = as_model(net)
    cols = []
    for name in GALLERY_PHOTOS:
        target = PHOTOS[name].classes[0]
        view = adapter.prepare(load_photo(name))  # what the model sees: its declared crop
        cols.append((f"{name}: {names[target]}", net, view, target, None))
    scene = make_scenes(1, objects=(2, 2), seed=SCENE_SEED)
    obj = scene.objects[0][0]
    cols.append((f"demo scene: {CLASS_NAMES[obj.label]}", load_model(), scene.images[0], obj.label, obj.box))
    return cols


def _offered(model) -> dict:
    """The methods the widget offers for ``model`` (registry order)."""
    from saliency_widgets.models import as_model
    from saliency_widgets.registry import available_methods
    source = getattr(as_model(model), "gradient_source", None)
    return available_methods(gradients=source[0] if source else None)


def gallery_cells(columns, *, log=print):
    """``(rows, cells)``: the method keys (the union of what each column's model is offered, registry
    order) and ``cells[key][j]`` = ``{"label", "map"}`` for a map, ``{"note"}`` where the widget does not
    offer the method for that model or the method refused it."""
    from saliency_widgets.registry import METHODS, build_checked, label_of
    offered = [_offered(model) for _, model, *_ in columns]
    rows = [k for k in METHODS if any(k in o for o in offered)]
    cells = {k: [] for k in rows}
    for j, (title, model, image, target, _) in enumerate(columns):
        for key in rows:
            spec = METHODS[key]
            if key not in offered[j]:
                cells[key].append({"note": "not offered for this model"})
                continue
            t0 = time.perf_counter()
            try:
                explainer = build_checked(key, model, budget=gallery_budget(spec), progress=False)
                exp = explainer.explain(np.asarray(image, np.float32), target=target)
            except (ValueError, TypeError) as err:  # the method refuses this model: say so, as the widget does
                cells[key].append({"note": f"refused: {_reason(err)}"})
                log(f"  {key} on {title}: refused ({err})")
                continue
            cells[key].append({"label": label_of(explainer, budget=True), "map": exp.saliency})
            log(f"  {label_of(explainer, budget=True)} on {title}: {time.perf_counter() - t0:.1f} s")
    return rows, cells


def _reason(err: Exception) -> str:
    """The reason of a refusal, short: its message without the method's name, up to the first colon after."""
    parts = str(err).split(": ")
    reason = parts[1] if len(parts) > 1 and len(parts[0].split()) == 1 else parts[0]
    return reason if len(reason) <= 90 else reason[:87].rsplit(" ", 1)[0] + " ..."


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "\n".join(textwrap.fill(part, width) for part in text.split(" / "))


def _row_label(key, row) -> str:
    labels = sorted({c["label"] for c in row if "label" in c})
    return " / ".join(labels) if labels else key


def draw_gallery(columns, rows, cells):
    """The gallery figure and what it shows (``{"columns", "rows", "cells"}``: titles and labels)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from saliency_widgets.plotting import draw_box, overlay, to_rgb_uint8
    side, text_w = 1.25, 2.5
    fig = plt.figure(figsize=(text_w + side * len(columns), side * (len(rows) + 1) + 0.2))
    grid = fig.add_gridspec(len(rows) + 1, len(columns) + 1, width_ratios=[text_w / side] + [1] * len(columns),
                            wspace=0.04, hspace=0.06, left=0.01, right=0.99, top=0.97, bottom=0.01)
    shown = {"columns": [c[0] for c in columns], "keys": list(rows), "rows": [], "cells": []}

    def picture(ax, img, box):
        img = to_rgb_uint8(img)
        if box is not None:
            img = draw_box(img, box, color=(255, 64, 64))
        ax.imshow(img, interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])

    ax = fig.add_subplot(grid[0, 0])
    ax.axis("off")
    ax.text(0.98, 0.5, "method (label @ budget)", ha="right", va="center", fontsize=8, style="italic")
    for j, (title, _, image, _, box) in enumerate(columns):
        ax = fig.add_subplot(grid[0, j + 1])
        picture(ax, image, box)
        ax.set_title(title, fontsize=7, pad=2)
    for i, key in enumerate(rows):
        label = _row_label(key, cells[key])
        shown["rows"].append(label)
        shown["cells"].append([c.get("label") or c["note"] for c in cells[key]])
        ax = fig.add_subplot(grid[i + 1, 0])
        ax.axis("off")
        ax.text(0.98, 0.5, _wrap(label, 30), ha="right", va="center", fontsize=7)
        for j, (_, _, image, _, box) in enumerate(columns):
            ax = fig.add_subplot(grid[i + 1, j + 1])
            cell = cells[key][j]
            if "map" in cell:
                picture(ax, overlay(image, cell["map"], alpha=0.6), box)
                if cell["label"] != label:  # a column whose label differs from the row's (never silently)
                    ax.set_title(cell["label"], fontsize=5, pad=1)
            else:
                ax.set_facecolor("0.93")
                ax.set_xticks([]), ax.set_yticks([])
                ax.text(0.5, 0.5, _wrap(cell["note"], 22), ha="center", va="center", fontsize=6,
                        transform=ax.transAxes)
    return fig, shown


# -- the verdict -------------------------------------------------------------------------------------------

def verdict_values(results: dict | None = None) -> dict:
    """What the verdict figure draws, from the shipped results (percent, rounded to 0.1)."""
    from saliency_widgets.registry import get_method
    from saliency_widgets.reproduce import shipped_results
    from saliency_widgets.verdict import demo_figures
    results = results or shipped_results()
    c = demo_figures(results)
    keys = ("mask-update-paper", "mask-update", "rise")
    labels = {k: get_method(k).label for k in keys}
    n_pairs = len({(r["image"], r["target"]) for r in results["rows_multi"]})
    scopes = {"single": f"single-object scenes (n = {results['config']['n_single']})",
              "multi": f"multi-object scenes ({n_pairs} image-class pairs)"}
    r1 = lambda v: round(float(v), 1)  # noqa: E731
    out = {"budget": results["config"]["budget"], "labels": labels, "scopes": scopes, "accuracy": {},
           "difference": {}, "source": f"saliency_widgets {results['version']}, shipped results of {results['date']}"}
    for scope in scopes:
        out["accuracy"][scope] = {k: [r1(c[f"{scope}/{labels[k]}/pointing"]),
                                      *map(r1, c[f"{scope}/{labels[k]}/pointing_ci"])] for k in keys}
        out["difference"][scope] = {ref: [r1(v) for v in c[f"{scope}/paper minus {ref}"]]
                                    for ref in ("rise", "mask-update")}
    return out


def draw_verdict(values: dict):
    """Two panels: pointing accuracy with 95% intervals, and the paper's method minus each other method."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels, scopes = values["labels"], values["scopes"]
    colours = {"mask-update-paper": "#d95f02", "mask-update": "#7570b3", "rise": "#1b9e77"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1]})
    y = {"single": 1.0, "multi": 0.0}
    offsets = dict(zip(labels, (0.22, 0.0, -0.22)))
    roles = {"mask-update-paper": ": the paper's method", "mask-update": ": the default reading", "rise": ""}
    for scope in scopes:
        for key, (v, lo, hi) in values["accuracy"][scope].items():
            yy = y[scope] + offsets[key]
            left.errorbar(v, yy, xerr=[[v - lo], [hi - v]], fmt="o", color=colours[key], capsize=3,
                          label=f"{labels[key]}{roles[key]}" if scope == "single" else None)
    left.set_yticks(list(y.values()), [scopes[s].replace(" (", "\n(") for s in y], fontsize=8)
    left.set_xlabel("pointing accuracy, % (95% bootstrap interval)", fontsize=8)
    left.set_title("pointing accuracy", fontsize=9)
    rows = [(scope, ref) for scope in scopes for ref in ("rise", "mask-update")]
    for i, (scope, ref) in enumerate(rows):
        d, lo, hi = values["difference"][scope][ref]
        right.errorbar(d, -i, xerr=[[d - lo], [hi - d]], fmt="s", color=colours[ref], capsize=3)
    right.axvline(0, color="0.4", lw=0.8)
    names = {"rise": "RISE", "mask-update": "default reading"}
    right.set_yticks([-i for i in range(len(rows))], [f"{scope}-object\nminus {names[ref]}" for scope, ref in rows],
                     fontsize=8)
    right.set_xlabel("difference, points (paired bootstrap over images, 95%)", fontsize=8)
    right.set_title(f"{labels['mask-update-paper']} minus the others", fontsize=9)
    fig.legend(*left.get_legend_handles_labels(), loc="upper center", ncol=3, fontsize=8, frameon=False,
               title=f"at {values['budget']} forward passes per map", title_fontsize=9)
    fig.text(0.5, 0.01, f"Demo scenes; {values['source']}", ha="center", va="bottom", fontsize=7, color="0.3")
    fig.tight_layout(rect=(0, 0.04, 1, 0.86))
    return fig


# -- writing ---------------------------------------------------------------------------------------------

def save_png(fig, path: str, *, dpi: int = 80, colours: int = 256) -> int:
    """Write ``fig`` as a palette PNG (``colours`` colours, dithered, optimised): small enough for a README."""
    import matplotlib.pyplot as plt
    from PIL import Image
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    img = Image.open(buf).convert("RGB")
    palette = img.quantize(colors=colours, method=Image.Quantize.FASTOCTREE)
    img.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(path, format="PNG", optimize=True)
    return os.path.getsize(path)


def _write(out: str, name: str, fig, shown: dict, log, *, dpi: int = 80) -> None:
    from PIL import Image
    png = os.path.join(out, f"{name}.png")
    size = save_png(fig, png, dpi=dpi)
    with Image.open(png) as img:
        shown = {"image": {"width": img.width, "height": img.height}, **shown}
    with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(shown, f, indent=1, ensure_ascii=False)
        f.write("\n")
    log(f"wrote {png} ({size / 1000:.0f} kB) and {name}.json")
    if size > MAX_BYTES:
        raise SystemExit(f"{png} is {size} bytes, over the {MAX_BYTES} a README picture may take")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.figures", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=IMAGES, help="folder to write to (default: docs/images)")
    parser.add_argument("--only", choices=("gallery", "verdict"), help="make one figure only")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    log = print
    if args.only in (None, "verdict"):
        values = verdict_values()
        _write(args.out, "verdict", draw_verdict(values), values, log, dpi=110)
    if args.only in (None, "gallery"):
        t0 = time.perf_counter()
        columns = gallery_columns()
        rows, cells = gallery_cells(columns, log=log)
        fig, shown = draw_gallery(columns, rows, cells)
        _write(args.out, "gallery", fig, shown, log)
        log(f"gallery: {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
