"""Evidence: the documents attached to the books, judged by their bytes, chained like the trail.

Invariants owned here:
- A file's type is decided by its first bytes (magic numbers), never by its name or the
  client's Content-Type: PDF, JPEG, PNG and WebP only. An SVG, HTML or ZIP renamed `.png` is
  refused (`UnsupportedFile`), and so is an empty file.
- At most `MAX_BYTES` (20 MiB); the `Inspector` counts as the bytes stream past and refuses the
  first byte beyond (`FileTooLarge`), so no caller ever holds a whole file to judge it.
- A PDF naming `/JavaScript` or `/JS` (also spelled with `#xx` name escapes) is refused. A
  PNG or WebP whose header declares more than `MAX_PIXELS` pixels or a side over `MAX_SIDE` is
  refused from the header alone, without decoding (a decompression bomb never reaches a
  decoder). Names inside compressed PDF object streams are not seen: that is a documented limit,
  and why files are served as downloads only (`Content-Disposition: attachment`, `nosniff`).
- An attachment record is never changed: a wrong one is superseded by a later record naming it
  and saying why. Records are numbered 1, 2, 3, ... and chained with the journal's recipe:
  ``hash(n) = SHA-256(hash(n-1) || 0x0A || canonical(record n))`` from `GENESIS`, so an auditor
  who holds a later hash (the audit event of each attachment carries its record hash, and the
  trail's head is signed into checkpoints) can prove a document was attached then, unswapped.
"""

from __future__ import annotations

import re
import struct
from dataclasses import asdict, dataclass
from typing import Any

from ledger.chain import GENESIS, canonical_bytes, chain_hash
from ledger.errors import LedgerError

__all__ = [
    "KINDS",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MEDIA_TYPES",
    "SUBJECT_TYPES",
    "Attachment",
    "FileTooLarge",
    "Inspector",
    "UnsupportedFile",
    "chain_findings",
    "record_hash",
    "record_object",
    "safe_file_name",
    "sniff",
]

#: What a document is, as the officer says when attaching it.
KINDS = ("invoice", "contract", "acknowledgment", "photo", "bank_slip", "other")
#: What a document can be attached to (approval requests will add theirs).
SUBJECT_TYPES = ("entry", "approval_request")
MAX_BYTES = 20 * 1024 * 1024
MAX_SIDE = 20_000
MAX_PIXELS = 80_000_000
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/webp")
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}

_HEAD = 64
# A PDF name is '/' then regular characters, where '#xx' is a hex escape of one byte.
_PDF_NAME = re.compile(rb"/(?:[A-Za-z0-9_.+-]|#[0-9A-Fa-f]{2}){1,40}")
_PDF_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_OVERLAP = 160  # longest escaped name we look for, so a name split across chunks is still seen


class UnsupportedFile(LedgerError):
    """Raised when a file is not an accepted type by its bytes, is empty, or is unsafe."""

    code = "unsupported_file"


class FileTooLarge(LedgerError):
    """Raised when a file is larger than `MAX_BYTES`."""

    code = "file_too_large"


def sniff(head: bytes) -> str | None:
    """The media type of a file by its first bytes, or None when it is not one we accept."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def declared_size(media_type: str, head: bytes) -> tuple[int, int] | None:
    """Width and height a PNG or WebP header declares (None when the header does not say)."""
    if media_type == "image/png":
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise UnsupportedFile("a PNG must start with its IHDR header", field="file")
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if media_type == "image/webp" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(head[24:27], "little") + 1
            height = int.from_bytes(head[27:30], "little") + 1
            return width, height
        if chunk == b"VP8L" and head[20] == 0x2F:
            bits = int.from_bytes(head[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
            width, height = struct.unpack("<HH", head[26:30])
            return width & 0x3FFF, height & 0x3FFF
    return None


class Inspector:
    """Judges a file chunk by chunk: type by magic bytes, size, PDF scripts, image bombs."""

    def __init__(self, limit: int = MAX_BYTES) -> None:
        self.limit = limit
        self.size = 0
        self.head = b""
        self.media_type: str | None = None
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        """Look at the next chunk.

        Raises:
            FileTooLarge: past `limit` bytes. UnsupportedFile: not an accepted or safe file.
        """
        self.size += len(chunk)
        if self.size > self.limit:
            raise FileTooLarge(
                f"a document may be at most {self.limit} bytes ({self.limit // 2**20} MiB)",
                field="file",
            )
        if len(self.head) < _HEAD:
            self.head += chunk[: _HEAD - len(self.head)]
            if self.media_type is None and len(self.head) >= min(_HEAD, self.size) >= 12:
                self._identify()
        if self.media_type == "application/pdf":
            self._scan_pdf(self._tail + chunk)
            self._tail = (self._tail + chunk)[-_OVERLAP:]

    def _identify(self) -> None:
        media_type = sniff(self.head)
        if media_type is None:
            raise UnsupportedFile(
                "only PDF, JPEG, PNG and WebP documents are accepted (judged by the file's "
                "bytes, not its name)",
                field="file",
            )
        self.media_type = media_type

    def _scan_pdf(self, window: bytes) -> None:
        for match in _PDF_NAME.finditer(window):
            name = _PDF_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group())
            if name in (b"/JS", b"/JavaScript"):
                raise UnsupportedFile(
                    "the PDF contains JavaScript (/JavaScript or /JS); print it to a plain PDF",
                    field="file",
                )

    def finish(self) -> str:
        """The file's media type, once every chunk was fed.

        Raises:
            UnsupportedFile: empty, unknown type, or an image declaring too many pixels.
        """
        if self.size == 0:
            raise UnsupportedFile("the file is empty", field="file")
        if self.media_type is None:
            self._identify()
        assert self.media_type is not None
        dims = declared_size(self.media_type, self.head)
        if dims is not None:
            width, height = dims
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise UnsupportedFile(
                    f"the image declares {width}x{height} pixels, above the limit of "
                    f"{MAX_PIXELS} pixels or {MAX_SIDE} a side (a decompression bomb?)",
                    field="file",
                )
        return self.media_type


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")


def safe_file_name(name: str | None, media_type: str) -> str:
    """The name to keep and serve: no folders, no control characters, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:200]
    return base or f"document.{EXTENSIONS.get(media_type, 'bin')}"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment record, as stored (a withdrawal has no file: empty sha256, size 0)."""

    sequence: int
    id: str
    subject_type: str
    subject_id: str
    kind: str
    file_name: str
    media_type: str
    size: int
    sha256: str
    note: str
    supersedes: str | None
    reason: str
    attached_by: str
    attached_at: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_object(**fields: Any) -> dict[str, Any]:
    """The object whose canonical JSON (RFC 8785) is chained for one attachment record."""
    names = (
        "sequence",
        "id",
        "subject_type",
        "subject_id",
        "kind",
        "file_name",
        "media_type",
        "size",
        "sha256",
        "note",
        "supersedes",
        "reason",
        "attached_by",
        "attached_at",
    )
    return {"v": 1, **{name: fields[name] for name in names}}


def record_hash(prev_hash: str, **fields: Any) -> str:
    """The chain hash of a record after `prev_hash`."""
    return chain_hash(prev_hash, canonical_bytes(record_object(**fields)))


def chain_findings(records: list[Attachment] | Any) -> list[str]:
    """Every break in a sequence of records read in order: gaps, broken links, altered rows."""
    findings: list[str] = []
    prev, expected = GENESIS, 1
    for record in records:
        if record.sequence != expected:
            findings.append(f"evidence record {expected} is missing (found {record.sequence})")
        if record.prev_hash != prev:
            findings.append(f"evidence record {record.sequence} does not link to its predecessor")
        fields = {k: v for k, v in record.to_dict().items() if k not in {"prev_hash", "hash"}}
        if record_hash(record.prev_hash, **fields) != record.hash:
            findings.append(f"evidence record {record.sequence} was altered after it was chained")
        prev, expected = record.hash, record.sequence + 1
    return findings
