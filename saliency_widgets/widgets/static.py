"""The static fallback: a PNG of the widget's state for places that cannot run widgets.

An exported notebook (``jupyter nbconvert --to html``, GitHub) cannot show a live widget. The widget
is displayed with a second output beside it, an HTML ``<img>`` of its state, kept under a display id
and replaced when a run ends, so the saved notebook carries the final overlay, not the empty start.
Where the widget renders, a ``<style>`` inside it hides that image (no custom JavaScript needed).
"""
from __future__ import annotations

import base64

__all__ = ["FALLBACK_CLASS", "HIDE_FALLBACK_CSS", "StaticFallback"]

FALLBACK_CLASS = "saliency-static-fallback"
HIDE_FALLBACK_CSS = f"<style>.{FALLBACK_CLASS} {{ display: none; }}</style>"


def fallback_html(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f"<div class='{FALLBACK_CLASS}'><img alt='saliency widget (static view)' "
            f"src='data:image/png;base64,{data}'/><br/><small>{caption}</small></div>")


class StaticFallback:
    """The fallback output: displayed once beside the widget, updated by display id after each run."""

    def __init__(self):
        self.handle = None
        self.shown_png: bytes | None = None

    def display(self, png: bytes, caption: str) -> None:
        from IPython.display import HTML, display
        self.handle = display(HTML(fallback_html(png, caption)), display_id=True)
        self.shown_png = png

    def update(self, png: bytes, caption: str, *, force: bool = False) -> None:
        """Replace the displayed image (nothing to do before the widget was displayed).

        ``force``: send even an unchanged image. An update sent from the run's thread may be
        attributed to an earlier cell, which a notebook executor ignores; the same update sent from
        the cell that waits for the run is recorded.
        """
        if self.handle is None or (png == self.shown_png and not force):
            return
        from IPython.display import HTML
        self.handle.update(HTML(fallback_html(png, caption)))
        self.shown_png = png
