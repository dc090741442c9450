"""Tiny, valid documents for the demo's evidence, built byte by byte (no renderer, no clock).

- `pdf(title, lines)`: a one-page A4 PDF 1.4 with a correct cross-reference table, Helvetica
  text only (the 14 standard fonts need no embedding), so the bytes depend on the text alone.
  Text is ASCII: anything else is written as `?` (the demo writes pinyin and codes).
- `png(seed)`: a 240 x 160 RGB picture (a sky, a building, a door) whose colours follow
  `seed`: a real PNG any viewer opens, a few kilobytes.

Both are accepted by `ledger.evidence` (magic bytes, no `/JavaScript`, a small canvas).
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["pdf", "png"]


def _ascii(text: str) -> str:
    out = text.encode("ascii", "replace").decode("ascii")
    return out.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF showing `title` in bold and `lines` below it."""
    text = [
        "BT /F2 15 Tf 56 780 Td",
        f"({_ascii(title)}) Tj",
        "/F1 10.5 Tf 0 -28 Td 15 TL",
        *(f"({_ascii(line)}) '" for line in lines),
        "ET",
        "0.6 G 56 60 m 539 60 l S",
        "BT /F1 8 Tf 56 48 Td (Huiquan Ledger demo books: a made-up document.) Tj ET",
    ]
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(seed: int, width: int = 240, height: int = 160) -> bytes:
    """A small picture of a building under a sky, its colours chosen by `seed`."""
    sky = (120 + seed * 37 % 80, 170 + seed * 11 % 60, 230)
    wall = (200 - seed * 23 % 90, 150 + seed * 7 % 60, 110 + seed * 13 % 80)
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            if y > 125:
                pixel = (90, 130 + (x + y) % 20, 70)  # grass
            elif 60 < x < 180 and y > 50:
                door = 105 < x < 135 and y > 85
                pixel = (80, 50, 30) if door else wall
            else:
                pixel = (sky[0], sky[1] - y // 8, sky[2] - y // 6)
            rows += bytes(pixel)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )
