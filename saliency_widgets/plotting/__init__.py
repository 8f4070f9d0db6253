"""Drawing: overlays and PNGs for the widget, matplotlib figures for notebooks and reports."""
from .overlay import colorize, draw_box, overlay, overlay_region, png_bytes, to_rgb_uint8, upscale, write_png
from .resize import fit_image

__all__ = ["fit_image", "colorize", "draw_box", "overlay", "overlay_region", "png_bytes", "to_rgb_uint8", "upscale",
           "write_png"]
