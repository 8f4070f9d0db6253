"""Drawing: overlays and PNGs for the widget, matplotlib figures for notebooks and reports."""
from .overlay import colorize, draw_box, overlay, png_bytes, to_rgb_uint8, upscale
from .resize import fit_image

__all__ = ["fit_image", "colorize", "draw_box", "overlay", "png_bytes", "to_rgb_uint8", "upscale"]
