"""Map panels: one saliency overlay with its progress and metrics (one per method in compare mode)."""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..truth import check_box
from ..plotting import draw_box, overlay, png_bytes, upscale
from ..session import IOU_RULE, IOU_THRESHOLD, POINTING_TOLERANCE

__all__ = ["Canvas", "MapPanel", "metrics_html", "box_iou_label"]


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


def metrics_html(metrics: dict, *, n_boxes: int) -> str:
    """The numbers under a map: pointing game and box IoU (when the class has truth: ``n_boxes`` > 0),
    insertion/deletion."""
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
    return " &nbsp;·&nbsp; ".join(parts)


class MapPanel(W.VBox):
    """A method's overlay, its own progress bar and the numbers under it."""

    def __init__(self, title: str, blank_png: bytes, *, width: int = 268):
        # Every panel of a run gets the same fixed width: a long method name or long numbers wrap inside it
        # instead of widening their panel.
        self.title = W.HTML(f"<b>{html.escape(title)}</b>", layout=W.Layout(width="100%"))
        self.image = W.Image(value=blank_png, format="png")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="95%"))
        self.metrics = W.HTML(value="", layout=W.Layout(width="100%"))
        self.drawn = None  # (Explanation, Canvas, look) of the map the image shows: unchanged maps are not redrawn
        super().__init__(children=[self.title, self.image, self.progress, self.metrics],
                         layout=W.Layout(margin="0 8px 0 0", width=f"{int(width)}px", min_width=f"{int(width)}px"))
        self.add_class("saliency-map-panel")
