"""The proof a receipt carries, checked on /verify and by `verify_receipt_document`."""

from __future__ import annotations

import base64
import copy
import io
import json
from typing import Any

import pytest
from flask import Flask

from ledger.tlog.checkpoints import Checkpoint, SigningKey, parse_signed_checkpoint
from receipts.proof import (
    ATTACHMENT_NAME,
    ClaimsSigner,
    attach_to_pdf,
    document_bytes,
    extract_from_pdf,
    load_document,
    verify_receipt_document,
)
from tests.receipts.conftest import Books, Caller, give, path_of

GENUINE = "真实有效"
NOT_GENUINE = "未通过核验"


@pytest.fixture
def proof(gift: dict[str, Any], client: Any) -> dict[str, Any]:
    """The proof document of the 12,000.00 CNY gift's receipt."""
    response = client.get(path_of(gift["receipt"]["url"]) + ".json")
    assert response.status_code == 200
    document: dict[str, Any] = json.loads(response.data)
    return document


@pytest.fixture
def trusted(app: Flask) -> list[str]:
    return app.extensions["receipts"].trusted()


BOUNDARY = "----huiquan-test-boundary-7MA4YWxkTrZu0gW"


def multipart(name: str, value: bytes, filename: str | None = None) -> bytes:
    """A one-field multipart/form-data body, built in memory.

    (Werkzeug's test client spools bodies over 500 KB to a temporary file it never closes.)
    """
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
    if filename:
        head += "Content-Type: application/octet-stream\r\n"
    return head.encode() + b"\r\n" + value + f"\r\n--{BOUNDARY}--\r\n".encode()


def post_form(client: Any, body: bytes) -> Any:
    return client.post(
        "/verify", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )


def upload(client: Any, data: bytes, name: str = "receipt.pdf") -> Any:
    return post_form(client, multipart("file", data, name))


def paste(client: Any, document: dict[str, Any]) -> Any:
    return post_form(client, multipart("proof", json.dumps(document, ensure_ascii=False).encode()))


def reasons(document: dict[str, Any], trusted: list[str]) -> list[str]:
    return verify_receipt_document(document, trusted).reasons


def _resign_checkpoint(document: dict[str, Any], root: bytes | None = None) -> SigningKey:
    """Sign the document's checkpoint (optionally with another root) with a stranger's key."""
    checkpoint, _ = parse_signed_checkpoint(document["checkpoint"])
    key = SigningKey.generate("mallory")
    forged = Checkpoint(
        checkpoint.origin, checkpoint.size, root or checkpoint.root, checkpoint.extensions
    )
    document["checkpoint"] = key.sign(forged)
    return key


def test_the_genuine_pdf_uploaded_on_verify_is_green(gift: dict[str, Any], client: Any) -> None:
    pdf = client.get(path_of(gift["receipt"]["pdf_url"])).data
    answer = upload(client, pdf)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and GENUINE in html and NOT_GENUINE not in html
    for fact in (gift["receipt"]["serial"], "成都某公司", "12,000.00 CNY", "JLZX"):
        assert fact in html, fact


def test_the_genuine_proof_pasted_on_verify_is_green(
    proof: dict[str, Any], client: Any, trusted: list[str]
) -> None:
    assert verify_receipt_document(proof, trusted).ok
    assert GENUINE in paste(client, proof).get_data(as_text=True)


def test_a_forged_amount_is_red_with_the_ledgers_amount(
    proof: dict[str, Any], client: Any, trusted: list[str]
) -> None:
    proof["claims"]["amount"] = "120000.00"
    proof["claims"]["cny_amount"] = "120000.00"
    found = reasons(proof, trusted)
    assert found[0] == (
        "the amount on this receipt (120,000.00 CNY) is not the amount in the ledger entry "
        "(12,000.00 CNY)"
    )
    assert "the receipt's claims were changed after signing" in found
    html = paste(client, proof).get_data(as_text=True)
    assert NOT_GENUINE in html and "120,000.00 CNY" in html and GENUINE not in html


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: c["donor"].update(name="冒名顶替者"), id="donor"),
        pytest.param(lambda c: c.update(serial="HQ-2026-999999"), id="serial"),
        pytest.param(lambda c: c["gifts"][0].update(serial="HQ-2026-999999"), id="gift-serial"),
    ],
)
def test_a_forged_donor_or_serial_is_red_because_the_signature_breaks(
    proof: dict[str, Any], client: Any, trusted: list[str], forge: Any
) -> None:
    forge(proof["claims"])
    assert reasons(proof, trusted) == ["the donor name or serial was changed after signing"]
    html = paste(client, proof).get_data(as_text=True)
    assert NOT_GENUINE in html and "the donor name or serial was changed after signing" in html


def test_a_forged_inclusion_proof_is_red(
    proof: dict[str, Any], client: Any, trusted: list[str], officer: Caller, books: Books
) -> None:
    if not proof["entries"][0]["inclusion_proof"]:  # a one-entry tree has an empty path
        proof["entries"][0]["leaf_index"] = 1
    else:
        proof["entries"][0]["inclusion_proof"][0] = base64.b64encode(b"\x00" * 32).decode()
    found = reasons(proof, trusted)
    assert found == [found[0]] and found[0].startswith(
        "the inclusion proof does not lead to the signed root"
    )
    assert NOT_GENUINE in paste(client, proof).get_data(as_text=True)


def test_a_rewritten_ledger_entry_no_longer_reaches_the_root(
    proof: dict[str, Any], trusted: list[str]
) -> None:
    entry = json.loads(base64.b64decode(proof["entries"][0]["canonical"]))
    entry["postings"][0]["amount"] *= 10
    entry["postings"][0]["functional"] *= 10
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    proof["entries"][0]["canonical"] = base64.b64encode(canonical.encode()).decode()
    found = reasons(proof, trusted)
    sequence = proof["entries"][0]["sequence"]
    assert any(r.startswith(f"the ledger entry {sequence} was changed") for r in found)
    assert any(r.startswith("the inclusion proof does not lead to the signed root") for r in found)


def test_a_checkpoint_signed_by_a_stranger_is_red(
    proof: dict[str, Any], trusted: list[str]
) -> None:
    _resign_checkpoint(proof)
    found = reasons(proof, trusted)
    assert len(found) == 1 and found[0].startswith("checkpoint not signed by a trusted key")
    assert reasons(proof, []) != []


def test_a_whole_forgery_signed_with_a_strangers_keys_is_red(
    proof: dict[str, Any], trusted: list[str], tmp_path: Any
) -> None:
    """Mallory rebuilds everything with her own keys: nothing she signs is trusted."""
    stranger = ClaimsSigner.from_home(tmp_path)
    proof["claims"]["amount"] = proof["claims"]["cny_amount"] = "99.00"
    proof["signature"] = stranger.sign(proof["claims"])
    _resign_checkpoint(proof)
    codes = {f.code for f in verify_receipt_document(proof, trusted).findings}
    assert {"checkpoint", "amount", "signature_key"} <= codes
    assert verify_receipt_document(proof, [stranger.vkey]).findings  # the ledger still disagrees


def _without_attachments(pdf: bytes) -> bytes:
    import io

    from pypdf import PdfWriter
    from pypdf.generic import NameObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    for key in ("/Names", "/AF"):
        writer._root_object.pop(NameObject(key), None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_whose_embedded_proof_was_swapped_is_red(
    gift: dict[str, Any], client: Any, proof: dict[str, Any]
) -> None:
    pdf = client.get(path_of(gift["receipt"]["pdf_url"])).data
    rendered = _without_attachments(pdf)  # the page, its embedded proof taken out
    forged = copy.deepcopy(proof)
    forged["claims"]["donor"]["name"] = "冒名顶替者"
    doctored = attach_to_pdf(rendered, document_bytes(forged))
    assert json.loads(extract_from_pdf(doctored))["claims"]["donor"]["name"] == "冒名顶替者"
    html = upload(client, doctored).get_data(as_text=True)
    assert NOT_GENUINE in html and "the donor name or serial was changed after signing" in html
    second = upload(client, attach_to_pdf(pdf, document_bytes(forged))).get_data(as_text=True)
    assert NOT_GENUINE in second and "more than one receipt proof" in second


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n garbage", "this file is not a readable PDF"),
        (b"hello", "neither a receipt PDF nor a proof document"),
        (b"[" * 100_000, "neither a receipt PDF nor a proof document"),
        (b'{"format": "x"}', "not a valid receipt proof"),
        (
            b'{"format": "huiquan-receipt-proof", "version": 1, "claims": {}, "signature": {}, '
            b'"entries": [{"sequence": "1"}], "checkpoint": ""}',
            "not a valid receipt proof",
        ),
    ],
)
def test_garbage_is_refused_with_a_reason_and_never_a_500(
    client: Any, app: Flask, data: bytes, reason: str
) -> None:
    answer = upload(client, data, "x.bin")
    assert answer.status_code in (200, 422)
    html = answer.get_data(as_text=True)
    assert NOT_GENUINE in html and reason in html


def test_a_pdf_without_a_proof_is_refused(client: Any) -> None:
    from pypdf import PdfWriter

    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    html = upload(client, out.getvalue()).get_data(as_text=True)
    assert "carries no receipt proof" in html


def test_nothing_to_check_is_a_400_with_the_form(client: Any) -> None:
    answer = client.post("/verify", data={}, content_type="multipart/form-data")
    assert answer.status_code == 400 and 'enctype="multipart/form-data"' in answer.get_data(
        as_text=True
    )


def test_the_qr_code_opens_the_receipt_on_verify_and_a_wrong_code_does_not(
    gift: dict[str, Any], client: Any
) -> None:
    html = client.get(path_of(gift["receipt"]["url"])).get_data(as_text=True)
    start = html.index('href="https://receipts.huiquan.example/verify?') + len('href="')
    url = html[start : html.index('"', start)].replace("&amp;", "&")
    scanned = client.get(url.removeprefix("https://receipts.huiquan.example"))
    assert scanned.status_code == 200 and GENUINE in scanned.get_data(as_text=True)
    wrong = client.get(f"/verify?serial={gift['receipt']['serial']}&code=AAAAAAAAAAAAAAAAAAAAAA")
    unknown = client.get("/verify?serial=HQ-2020-000001&code=AAAAAAAAAAAAAAAAAAAAAA")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.data.replace(b" ", b"") == unknown.data.replace(b" ", b"")
    assert "成都某公司" not in wrong.get_data(as_text=True)


def test_a_voided_receipt_is_still_genuine_but_verify_says_it_was_voided(
    gift: dict[str, Any], client: Any, officer: Caller
) -> None:
    pdf = client.get(path_of(gift["receipt"]["pdf_url"])).data
    officer.created(f"/api/v1/receipts/{gift['receipt']['serial']}/void", {"reason": "重开"})
    html = upload(client, pdf).get_data(as_text=True)
    assert GENUINE in html and "voided: 重开" in html and "HQ-" in html


def test_the_verify_page_is_public_script_free_and_locked_down(client: Any) -> None:
    page = client.get("/verify")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script" not in html and " style=" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "form-action 'self'" in policy
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "huiquan-ledger-" in html  # the trusted verifier key is published on the page


def test_the_proof_is_embedded_deterministically_and_keeps_the_rendered_bytes(
    gift: dict[str, Any], client: Any, proof: dict[str, Any]
) -> None:
    pdf = client.get(path_of(gift["receipt"]["pdf_url"])).data
    embedded = json.loads(extract_from_pdf(pdf))
    assert embedded["claims"] == proof["claims"] and embedded["signature"] == proof["signature"]
    blank = b"%PDF-" + pdf[5:]
    assert attach_to_pdf(blank, b"{}") == attach_to_pdf(blank, b"{}")
    assert attach_to_pdf(blank, b"{}").startswith(blank)
    assert load_document(pdf) == embedded
    assert ATTACHMENT_NAME.endswith(".json")


def test_an_annual_receipt_proves_every_gift_it_covers(
    officer: Caller, books: Books, client: Any, trusted: list[str]
) -> None:
    for amount in ("100.00", "200.00"):
        give(officer, books, amount)
    from tests.receipts.conftest import TODAY

    annual = officer.created(f"/api/v1/donors/{books.donor}/annual-receipts/{TODAY.year}", None)
    document = json.loads(client.get(path_of(annual["url"]) + ".json").data)
    assert len(document["entries"]) == 2 and document["claims"]["cny_amount"] == "300.00"
    assert verify_receipt_document(document, trusted).ok
    document["claims"]["amount"] = document["claims"]["cny_amount"] = "3000.00"
    assert (
        verify_receipt_document(document, trusted)
        .reasons[0]
        .startswith(
            "the total on this receipt (3,000.00 CNY) is not the sum of the gifts in the ledger"
        )
    )


def test_an_upload_over_the_body_limit_gets_the_page_with_a_reason(
    app_config: dict[str, Any],
) -> None:
    from api import create_app, receipt_routes

    small = create_app({**app_config, "MAX_CONTENT_LENGTH": 4096})
    receipt_routes.init_app(small)
    try:
        answer = upload(small.test_client(), b"%PDF-" + b"x" * 8000)
        assert answer.status_code == 413 and answer.mimetype == "text/html"
        assert "larger than this service accepts" in answer.get_data(as_text=True)
    finally:
        small.extensions["huiquan"].engine.dispose()


def test_the_page_offers_the_proof_document_beside_the_pdf(
    gift: dict[str, Any], client: Any
) -> None:
    link = path_of(gift["receipt"]["url"])
    html = client.get(link + "?lang=en").get_data(as_text=True)
    assert f'<a href="{link}.json" type="application/json">Proof (JSON)</a>' in html
    proof = client.get(link + ".json")
    assert proof.headers["Content-Disposition"].startswith("attachment;")
    assert json.loads(proof.data)["claims"]["serial"] == gift["receipt"]["serial"]
