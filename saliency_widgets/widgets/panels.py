"""Map panels: one saliency overlay with its progress and metrics (one per method in compare mode)."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..truth import check_box
from ..plotting import draw_box, overlay, png_bytes, upscale
from ..plotting.colorbar import colorbar_rgb, display_range, scale_ticks
from ..plotting.iou_reason import iou_reason
from ..session import IOU_RULE, IOU_THRESHOLD, POINTING_TOLERANCE

__all__ = ["Canvas", "MapPanel", "ColorBar", "metrics_html", "box_iou_label"]


class Canvas:
    """How maps are drawn on one image: its RGB copy, the selected class's truth, scale, colours."""

    def __init__(self, rgb: np.ndarray, *, scale: int, truth=None, opacity: float = 0.5, cmap: str = "viridis"):
        self.rgb = rgb
        self.scale = scale
        self.truth = truth          # the selected class's object boxes [(x0, y0, x1, y1)], or None
        self.opacity = opacity
        self.cmap = cmap

    def decorate(self, img: np.ndarray) -> np.ndarray:
        """``img`` with each object box of the selected class outlined (box IoU takes the best of them)."""
        for box in self.truth or ():
            img = draw_box(img, check_box(box, img.shape[:2]), color=(0, 255, 0))
        return img

    def overlay_rgb(self, saliency) -> np.ndarray:
        """(H, W, 3) uint8: the map blended over the image, the truth's box on top."""
        img = overlay(self.rgb, np.asarray(saliency, np.float32), alpha=self.opacity, cmap=self.cmap)
        return self.decorate(img)

    def overlay_png(self, saliency) -> bytes:
        return png_bytes(upscale(self.overlay_rgb(saliency), self.scale))

    def image_png(self) -> bytes:
        return png_bytes(upscale(self.decorate(self.rgb), self.scale))

    def mask_rgbs(self, mask, occluder="auto") -> tuple[np.ndarray, np.ndarray]:
        """The mask in grey and the masked input, as (H, W, 3) uint8 arrays.

        Masked pixels are shown as the explainer masked them: black for ``occluder="zero"``
        (or 0), else the image's mean colour (what "auto" and "mean" use for raw-pixel models).
        """
        m = np.clip(np.asarray(mask, np.float32), 0, 1)[..., None]
        grey = np.repeat((m[..., 0] * 255).astype(np.uint8)[..., None], 3, axis=2)
        rgb = self.rgb.astype(np.float32)
        black = occluder in ("zero", 0, 0.0)
        fill = np.zeros(3, np.float32) if black else rgb.reshape(-1, rgb.shape[-1]).mean(0)
        masked = fill + m * (rgb - fill)
        return grey, np.clip(masked, 0, 255).astype(np.uint8)

    def mask_pngs(self, mask, occluder="auto") -> tuple[bytes, bytes]:
        """:meth:`mask_rgbs` as PNG, upscaled for display."""
        grey, masked = self.mask_rgbs(mask, occluder)
        return png_bytes(upscale(grey, self.scale)), png_bytes(upscale(masked, self.scale))


def box_iou_label(n_boxes: int) -> str:
    """What the box IoU number is: evaluate()'s rule with the session's settings."""
    best = "the object box" if n_boxes == 1 else f"the best of {n_boxes} object boxes"
    region = {"fraction": f"region ≥ {IOU_THRESHOLD:g} of the min-max raw map",
              "top": f"the top {IOU_THRESHOLD:.0%} of the raw map's pixels"}[IOU_RULE]
    return f"box IoU ({best}, {region})"


def metrics_html(metrics: dict, *, n_boxes: int, reason: str | None = None) -> str:
    """The numbers under a map: pointing game and box IoU (when the class has truth: ``n_boxes`` > 0),
    insertion/deletion; ``reason``: why the box IoU is low (:func:`~saliency_widgets.plotting.iou_reason.iou_reason`),
    on its own line under the numbers."""
    parts = []
    if "pointing" in metrics:
        mark = lambda ok: "✔ hit" if ok else "✘ miss"  # noqa: E731
        parts.append(f"pointing game ({POINTING_TOLERANCE} px, objects' union): <b>{mark(metrics['pointing'])}</b>, "
                     f"strict: <b>{mark(metrics['pointing_strict'])}</b>")
        parts.append(f"{box_iou_label(n_boxes)}: <b>{metrics['box_iou']:.2f}</b>")
    elif not n_boxes:
        parts.append("<i>no ground truth for this class: no pointing / IoU</i>")
    if "insertion_auc" in metrics:
        parts.append(f"insertion AUC <b>{metrics['insertion_auc']:.3f}</b> ↑, "
                     f"deletion AUC <b>{metrics['deletion_auc']:.3f}</b> ↓")
    text = " &nbsp;·&nbsp; ".join(parts)
    if reason and "box_iou" in metrics:
        text += (f"<br/><span class='saliency-iou-reason' style='color:#555'>box IoU {metrics['box_iou']:.2f} "
                 f"is low: {html.escape(reason)}</span>")
    return f"<div style='line-height:1.4'>{text}</div>" if text else ""


def map_reason(result, boxes) -> str | None:
    """Why ``result``'s box IoU is low, or None (no truth, no map, or a fine IoU)."""
    if result is None or not boxes:
        return None
    return iou_reason(result.raw, list(boxes), threshold=IOU_THRESHOLD) if IOU_RULE == "fraction" else None


class ColorBar(W.VBox):
    """The colour map's scale under a map: display values 0 to 1 and the raw values they stand for.

    ``strip`` is the colours (PNG), ``ticks`` the numbers: each display value with its raw value
    (:func:`~saliency_widgets.plotting.colorbar.display_range`, read from the map shown), or, before a map,
    the display values alone.
    """

    def __init__(self, *, width: int, cmap: str = "viridis"):
        self.width = int(width)
        self.cmap = None
        self.scale: tuple[float, float] | None = None
        self.strip = W.Image(format="png", layout=W.Layout(width=f"{self.width}px", height="10px"))
        self.ticks = W.HTML(layout=W.Layout(width=f"{self.width}px", margin="0"))
        super().__init__(children=[self.strip, self.ticks], layout=W.Layout(width=f"{self.width}px"))
        self.add_class("saliency-colorbar")
        self.show(None, cmap=cmap)

    def resize(self, width: int) -> None:
        """Match the width of the image above (the strip is redrawn at that width)."""
        self.width = int(width)
        with self.hold_sync():
            for w in (self, self.strip, self.ticks):
                w.layout.width = f"{self.width}px"
            if self.cmap is not None:
                self.strip.value = png_bytes(colorbar_rgb(self.cmap, width=self.width, height=10))

    def show(self, exp, *, cmap: str, scale=False) -> None:
        """The scale of ``exp``'s map (None: no map yet); ``scale`` (lo, hi) when known already (a replayed
        snapshot's), else read from ``exp``."""
        if scale is False:
            scale = None if exp is None or getattr(exp, "no_signal", False) else display_range(exp.saliency, exp.raw)
        with self.hold_sync():
            if cmap != self.cmap:
                self.strip.value = png_bytes(colorbar_rgb(cmap, width=self.width, height=10))
                self.cmap = cmap
            self.scale = scale
            self.ticks.value = ticks_html(scale, blank=exp is not None and scale is None)


def ticks_html(scale, *, blank: bool = False) -> str:
    """Three numbers under the strip (display value, and the raw value it stands for when known)."""
    ticks = scale_ticks(scale)
    if scale is None:
        words = "blank map (no signal): no scale" if blank else "raw values: after the first map"
        cells = [f"{d:g}" for d, _ in ticks]
    else:
        words = f"display (raw); raw ≤ {scale[0]:.3g} is drawn as 0"
        cells = [f"{d:g} ({r:.3g})" for d, r in ticks]
    spans = "".join(f"<span>{html.escape(c)}</span>" for c in cells)
    return (f"<div style='display:flex;justify-content:space-between;font-size:11px;line-height:1.3;"
            f"padding-right:2px'>{spans}</div>"
            f"<div style='font-size:11px;color:#555;line-height:1.3'>{html.escape(words)}</div>")


class MapPanel(W.VBox):
    """A method's overlay, its colour scale, its own progress bar and the numbers under it.

    ``color``: the method's colour in the charts (a swatch before the title ties the panel to its lines).
    """

    def __init__(self, title: str, blank_png: bytes, *, width: int = 268, image_width: int | None = None,
                 color: str | None = None, cmap: str = "viridis"):
        # Every panel of a run gets the same fixed width: a long method name or long numbers wrap inside it
        # instead of widening their panel.
        self.label = title
        swatch = f"<span style='color:{color}'>■</span> " if color else ""
        # two lines' height for every title: the images of a row line up when a long label wraps
        self.title = W.HTML(f"<div style='line-height:1.3;min-height:2.6em'>{swatch}<b>{html.escape(title)}</b></div>",
                            layout=W.Layout(width="100%"))
        self.image = W.Image(value=blank_png, format="png")
        self.image.add_class("saliency-panel-map")
        self.colorbar = ColorBar(width=image_width or width - 8, cmap=cmap)
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="95%"))
        self.metrics = W.HTML(value="", layout=W.Layout(width="100%"))
        self.drawn = None  # (Explanation, Canvas, look) of the map the image shows: unchanged maps are not redrawn
        super().__init__(children=[self.title, self.image, self.colorbar, self.progress, self.metrics],
                         layout=W.Layout(margin="0 8px 0 0", width=f"{int(width)}px", min_width=f"{int(width)}px"))
        self.add_class("saliency-map-panel")
