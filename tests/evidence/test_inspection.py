"""What a document is, judged by its bytes: accepted types, scripts, bombs, size, emptiness."""

from __future__ import annotations

import io

import pytest

from ledger.evidence import (
    MAX_BYTES,
    FileTooLarge,
    Inspector,
    UnsupportedFile,
    safe_file_name,
)
from tests.evidence.files import JPEG, SVG, pdf, png, webp_vp8x


def inspect(data: bytes, chunk: int = 7) -> str:
    inspector = Inspector()
    stream = io.BytesIO(data)
    while part := stream.read(chunk):
        inspector.feed(part)
    return inspector.finish()


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (pdf(), "application/pdf"),
        (JPEG, "image/jpeg"),
        (png(640, 480), "image/png"),
        (webp_vp8x(800, 600), "image/webp"),
    ],
)
def test_accepted_documents_are_named_by_their_bytes(data: bytes, media_type: str) -> None:
    assert inspect(data) == media_type


@pytest.mark.parametrize(
    "script",
    [
        b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
        b"/AA << /O << /J#53 (x) >> >>",
        b"<< /S /J#61vaScript >>",
    ],
)
def test_a_pdf_with_javascript_is_refused_even_split_across_chunks(script: bytes) -> None:
    for chunk in (3, 5, 64):
        with pytest.raises(UnsupportedFile, match="JavaScript"):
            inspect(pdf(script), chunk)


def test_a_pdf_naming_jsonish_words_is_not_mistaken_for_script() -> None:
    assert inspect(pdf(b"/JSONData (x) /Jump 1")) == "application/pdf"


def test_an_svg_renamed_png_is_refused_by_its_bytes() -> None:
    with pytest.raises(UnsupportedFile, match="bytes, not its name"):
        inspect(SVG)


@pytest.mark.parametrize(
    "data", [png(100_000, 100_000), png(30_000, 10), webp_vp8x(16_000, 16_000)]
)
def test_an_image_declaring_a_bomb_of_pixels_is_refused_without_decoding(data: bytes) -> None:
    with pytest.raises(UnsupportedFile, match="decompression bomb"):
        inspect(data)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(UnsupportedFile, match="empty"):
        Inspector().finish()


def test_exactly_the_limit_passes_and_one_byte_more_is_too_large() -> None:
    inspector = Inspector()
    inspector.feed(pdf())
    inspector.feed(b"\x00" * (MAX_BYTES - len(pdf())))
    assert inspector.finish() == "application/pdf"
    with pytest.raises(FileTooLarge):
        inspector.feed(b"\x00")


def test_a_file_name_keeps_no_folders_or_control_characters() -> None:
    assert safe_file_name("../../etc/passwd\x00.pdf", "application/pdf") == "passwd_.pdf"
    assert safe_file_name("", "image/png") == "document.png"
    assert safe_file_name("发票 2026.pdf", "application/pdf") == "发票 2026.pdf"
