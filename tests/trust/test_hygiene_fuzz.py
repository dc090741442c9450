"""Hypothesis fuzzing of every parser that reads input from anyone (issue #13, "Trust").

- amounts: `Money.parse` answers a Money or a `LedgerError`, for any value at all;
- import files: any bytes, and CSV/JSONL of the known columns with any text, are read into rows
  and line-numbered problems (or one `LedgerError` for a file that is not UTF-8), never another
  exception;
- receipt proofs (`huiquan receipt verify`, POST /verify): any bytes, PDFs cut short or
  altered, and hostile PDFs (a zip bomb, objects that refer to themselves, a huge xref) are a
  document or a `ProofFormatError`, in bounded time; any JSON object is a verdict.

Examples per test: `SCALE.fuzz_examples` (tests/hypothesis_profiles.py: more under CI).
"""

from __future__ import annotations

import csv
import io
import json
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.importer import ALL_COLUMNS, Problem, parse_rows, read_file
from ledger.money import EXPONENTS, MAX_MINOR, Money
from receipts.proof import (
    FORMAT,
    VERSION,
    ProofFormatError,
    VerificationResult,
    attach_to_pdf,
    load_document,
    verify_receipt_document,
)
from tests.hypothesis_profiles import SCALE

FUZZ = settings(
    max_examples=SCALE.fuzz_examples,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
#: Wall-clock bound for one hostile PDF (reading a 4 MiB file takes well under a second).
PDF_SECONDS = 10.0

# -- amounts -----------------------------------------------------------------------------------
amount_like = st.one_of(
    st.text(),
    st.from_regex(r"\A[ +-]?[0-9０-９]{0,20}([.,][0-9]{0,6})?([eE][+-]?[0-9]{1,4})?\s?\Z"),
    st.sampled_from(["NaN", "Infinity", "-0", "0.00", "1e3", "１２", "٣", "1_000", "0x10"]),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=True),
)
currencies = st.one_of(st.sampled_from(sorted(EXPONENTS)), st.text(max_size=4))


@FUZZ
@given(value=amount_like, currency=currencies)
def test_money_parse_answers_money_or_a_ledger_error(value: Any, currency: str) -> None:
    try:
        money = Money.parse(value, currency)
    except LedgerError:
        return
    assert isinstance(value, str)
    assert 0 < money.minor <= MAX_MINOR and money.currency == currency


# -- import files ------------------------------------------------------------------------------
def _read(path: Path) -> list[tuple[int, Any]]:
    try:
        rows = read_file(path)
    except LedgerError:
        return []
    commands, problems = parse_rows(rows)
    for problem in problems:
        assert isinstance(problem, Problem) and problem.line >= 1
    assert {c.line for c in commands}.isdisjoint({p.line for p in problems})
    return rows


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".jsonl"]))
@example(data=b'{"op": ' + b"[" * 5000 + b"}", suffix=".jsonl")
@example(data=b'{"op": "fee", "amount": ' + b"9" * 4301 + b"}", suffix=".jsonl")
@example(data=b'op,memo\nfee,"' + b"x" * 140_000 + b'"', suffix=".csv")
@example(data=b"op,memo\nfee,a\x00b\n", suffix=".csv")
@example(data=b"\xef\xbb\xbfop\r\n\r\n\r", suffix=".csv")
def test_any_bytes_are_rows_or_line_numbered_problems(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"ops{suffix}"
    path.write_bytes(data)
    _read(path)


cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["2025-01-05", "100", "12.345", "CNY", "HKD", "@x", "true", "0", "-1"]),
)
row_of_columns = st.dictionaries(st.sampled_from(ALL_COLUMNS), cell, max_size=12)


@FUZZ
@given(rows=st.lists(row_of_columns, max_size=6), as_csv=st.booleans())
def test_rows_of_known_columns_with_any_text_parse_to_commands_or_problems(
    tmp_path_factory: pytest.TempPathFactory, rows: list[dict[str, str]], as_csv: bool
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    if as_csv:
        path = folder / "ops.csv"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["op", *[c for c in ALL_COLUMNS if c != "op"]])
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
    else:
        path = folder / "ops.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    _read(path)


# -- receipt proofs ----------------------------------------------------------------------------
def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


DOCUMENT = {"format": FORMAT, "version": VERSION, "claims": {}, "signature": {}, "entries": []}
GENUINE_SHAPE = attach_to_pdf(_blank_pdf(), json.dumps(DOCUMENT).encode())


def _load(data: bytes) -> None:
    started = time.monotonic()
    try:
        document = load_document(data)
    except ProofFormatError as exc:
        assert str(exc)
    else:
        assert isinstance(document, dict)
    assert time.monotonic() - started < PDF_SECONDS


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=4000), st.binary(max_size=4000).map(b"%PDF-1.7\n".__add__))
)
def test_any_bytes_are_a_document_or_a_clear_refusal(data: bytes) -> None:
    _load(data)


@FUZZ
@given(
    cut=st.integers(min_value=0, max_value=len(GENUINE_SHAPE)),
    at=st.integers(min_value=0, max_value=len(GENUINE_SHAPE) - 1),
    junk=st.binary(min_size=1, max_size=64),
)
def test_a_receipt_pdf_cut_short_or_altered_is_a_document_or_a_clear_refusal(
    cut: int, at: int, junk: bytes
) -> None:
    _load(GENUINE_SHAPE[:cut])
    _load(GENUINE_SHAPE[:at] + junk + GENUINE_SHAPE[at + len(junk) :])


def _pdf(*objects: bytes, trailer: bytes = b"<< /Root 1 0 R /Size 9 >>") -> bytes:
    """A PDF of the given object bodies (numbered from 1) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _embedded(stream: bytes, extra: bytes = b"") -> bytes:
    return _pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Names [(huiquan-receipt-proof.json) 4 0 R] >>",
        b"<< /Type /Filespec /F (huiquan-receipt-proof.json) /EF << /F 5 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length %d %s >>\nstream\n" % (len(stream), extra)
        + stream
        + b"\nendstream",
    )


HOSTILE = {
    "zip bomb": _embedded(zlib.compress(b"\x00" * 200_000_000, 9), b"/Filter /FlateDecode"),
    "a stream declaring a huge length": _embedded(b"{}", b"").replace(
        b"/Length 2", b"/Length 999999999999"
    ),
    "a self-referring name tree": _pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        b"<< /Kids [3 0 R 3 0 R] >>",
    ),
    "an object that is its own value": _pdf(b"1 0 R", b"2 0 R"),
    "a huge xref": b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\nxref\n0 2000000000\n"
    + b"0000000000 65535 f \n" * 1000
    + b"trailer\n<< /Size 2000000000 /Root 1 0 R >>\nstartxref\n36\n%%EOF\n",
    "deeply nested arrays": _pdf(
        b"<< /Type /Catalog /X " + b"[" * 100_000 + b"]" * 100_000 + b" >>"
    ),
    "a truncated file": GENUINE_SHAPE[: len(GENUINE_SHAPE) // 2],
    "four mebibytes of garbage": b"%PDF-1.7\n" + bytes(range(256)) * (4 * 4096 - 1),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_pdf_is_a_clear_refusal_in_bounded_time(name: str) -> None:
    started = time.monotonic()
    with pytest.raises(ProofFormatError):
        load_document(HOSTILE[name])
    assert time.monotonic() - started < PDF_SECONDS


def test_the_genuine_shape_still_reads() -> None:
    assert load_document(GENUINE_SHAPE) == DOCUMENT


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
entry_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values
        for key in ("sequence", "leaf_index", "canonical", "leaf_hash", "inclusion_proof")
    },
)


@FUZZ
@given(
    document=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"format": st.just(FORMAT), "version": st.just(VERSION)},
            optional={
                "claims": json_values,
                "signature": json_values,
                "entries": st.lists(entry_like, max_size=3),
                "checkpoint": st.text(max_size=200),
            },
        ),
    )
)
def test_any_json_is_a_verdict_never_an_exception(document: Any) -> None:
    assume(not isinstance(document, dict) or document)
    result = verify_receipt_document(document, [])
    assert isinstance(result, VerificationResult) and not result.ok
