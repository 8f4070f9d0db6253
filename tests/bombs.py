"""Hostile files for the tests, each a few kilobytes: images whose header claims a huge size, XML with entities."""
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path, width: int = 20000, height: int = 20000) -> int:
    """Write a valid 1-bit greyscale PNG of ``width`` x ``height`` black pixels; return the file's size in bytes.

    The rows are compressed as they are made (never all in memory): 20000 x 20000 (400 megapixels, 50 MB
    of 1-bit rows) makes a file of about 50 KB, which would be 1.2 GB decoded as RGB.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed 1-bit pixels
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 500) for _ in range(height // 500)]
    parts.append(comp.compress(row * (height % 500)))
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # bit depth 1, greyscale, no interlace
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def bomb_png_bytes(width: int = 20000, height: int = 20000) -> bytes:
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "bomb.png")
        bomb_png(p, width, height)
        with open(p, "rb") as f:
            return f.read()


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE annotation [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<annotation><filename>000000.png</filename><size><width>96</width><height>96</height></size>
<object><name>&d;</name><difficult>0</difficult>
<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>
"""
