"""The proof a receipt carries, and how anyone checks it offline without trusting the service.

A receipt's proof document is one JSON object (`FORMAT`, version 1)::

    {"format": "huiquan-receipt-proof", "version": 1,
     "claims":    {serial, kind, issuer, issued_on, donor {id, name}, amount, currency,
                   cny_amount, received_on, year, fund {code, name}, replaces, signing_officer,
                   gifts [{serial, entry_id, sequence, kind, amount, currency, cny_amount,
                           received_on, fund, donor_id}]},
     "signature": {"signer": key name, "key_hash": 8 hex digits, "ed25519": base64},
     "entries":   [{sequence, leaf_index, canonical (base64), leaf_hash (hex),
                    inclusion_proof [base64 ...]}],
     "checkpoint": "<C2SP signed checkpoint text>"}

Invariants owned here:
- The claims are what the receipt says; the gifts' facts in them are derived from the ledger
  entries' canonical bytes by `gift_facts` (the same function the verifier uses), so a genuine
  document always agrees with its entries. Amounts are decimal strings, never floats.
- The organisation key (the checkpoint key of `ledger.tlog.keys`, same C2SP key name and key hash)
  signs ``CLAIMS_DOMAIN || canonical JSON of the claims``. The domain prefix keeps a claims
  signature from ever passing for a checkpoint signature and vice versa. The signature binds
  what the journal does not hold: the serial and the donor's name.
- `verify_receipt_document` never raises on bad input: every problem becomes a `Finding` with a
  stable code and a plain sentence (English and Chinese), and one run reports every problem.
  A document is genuine only with no findings.
- The proof travels inside the PDF as the embedded file `ATTACHMENT_NAME`, added as an
  incremental update (`attach_to_pdf`): the rendered bytes are kept as they are, and the same
  PDF and document always give the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.chain import canonical_bytes
from ledger.errors import LedgerError
from ledger.money import EXPONENTS, FUNCTIONAL_CURRENCY, format_minor, parse_minor
from ledger.tlog.checkpoints import (
    CheckpointError,
    TrustedKey,
    key_hash_of,
    parse_signed_checkpoint,
    parse_vkey,
    verify_checkpoint,
    vkey_of,
)
from ledger.tlog.merkle import leaf_hash, verify_inclusion

__all__ = [
    "ATTACHMENT_NAME",
    "CLAIMS_DOMAIN",
    "FORMAT",
    "ClaimsSigner",
    "EntryEvidence",
    "Finding",
    "ProofFormatError",
    "VerificationResult",
    "attach_to_pdf",
    "build_document",
    "document_bytes",
    "extract_from_pdf",
    "gift_facts",
    "load_document",
    "scan_code",
    "verify_receipt_document",
]

FORMAT = "huiquan-receipt-proof"
VERSION = 1
ATTACHMENT_NAME = "huiquan-receipt-proof.json"
CLAIMS_DOMAIN = b"huiquan-receipt-claims/v1\n"
SCAN_DOMAIN = b"huiquan-receipt-scan/v1\n"
GIFT_KINDS = {"donation", "pledge_payment", "in_kind"}
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


class ProofFormatError(ValueError):
    """Raised when bytes or an object are not a receipt proof document at all."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a receipt is not genuine: a stable code and a sentence in English and Chinese."""

    code: str
    message: str
    message_zh: str


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict on one proof document: genuine when there are no findings.

    `facts` are the claims in display form (serial, donor, amounts, dates, fund, signer,
    checkpoint); they are what was checked, shown so a reader can compare them with the paper.
    """

    findings: tuple[Finding, ...]
    facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def reasons(self) -> list[str]:
        """The findings as plain English sentences."""
        return [f.message for f in self.findings]


@dataclass(frozen=True, slots=True)
class EntryEvidence:
    """A ledger entry's canonical bytes and its inclusion proof in the checkpoint's tree."""

    sequence: int
    canonical: bytes
    inclusion_proof: tuple[bytes, ...]

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.canonical)


# -- canonical forms ------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def display_amount(minor: int, currency: str) -> str:
    """An amount for people: thousands separators and the currency code ("1,200.00 CNY")."""
    return f"{Decimal(format_minor(minor, currency)):,} {currency}"


def gift_facts(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a gift as its ledger entry's canonical object states them.

    The gift is the entry's first posting (the cash, goods or agency asset received); its
    CNY value is that posting's functional amount.

    Raises:
        ProofFormatError: when the object is not a gift entry of the shape the ledger writes.
    """
    try:
        kind = entry["kind"]
        first = entry["postings"][0]
        amount, currency, functional = first["amount"], first["currency"], first["functional"]
        fund, occurred_on, data = first["fund"], entry["occurred_on"], entry["data"]
        entry_id, sequence = entry["id"], entry["sequence"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ProofFormatError(f"the ledger entry is not a gift entry ({exc!r} missing)") from exc
    if kind not in GIFT_KINDS or not isinstance(data, Mapping):
        raise ProofFormatError(f"ledger entry {entry_id!r} is a {kind!r} entry, not a gift")
    ints = (amount, functional, sequence)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
        raise ProofFormatError("the ledger entry's amounts are not integers")
    if not isinstance(currency, str) or currency not in EXPONENTS:
        raise ProofFormatError(f"the ledger entry has an unknown currency {currency!r}")
    receipt_kind = {"pledge_payment": "pledge_payment", "in_kind": "in_kind"}.get(
        kind, "cash" if currency == FUNCTIONAL_CURRENCY else "foreign"
    )
    return {
        "entry_id": str(entry_id),
        "sequence": sequence,
        "kind": receipt_kind,
        "amount": format_minor(amount, currency),
        "currency": currency,
        "cny_amount": format_minor(functional, FUNCTIONAL_CURRENCY),
        "received_on": str(occurred_on),
        "fund": str(fund),
        "donor_id": str(data.get("donor_id", "")),
    }


def scan_code(claims: Mapping[str, Any]) -> str:
    """The short code in a receipt's QR link: 128 bits of a hash of who, what and which serial.

    It lets the verify page find and show a receipt to whoever holds the paper, and nobody else:
    without it a serial alone answers "not found".
    """
    stable = {k: claims.get(k) for k in ("serial", "donor", "amount", "currency", "gifts")}
    digest = hashlib.sha256(SCAN_DOMAIN + canonical_bytes(stable)).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


# -- signing ----------------------------------------------------------------------------------
class ClaimsSigner:
    """The organisation's Ed25519 key, signing receipt claims (same name and hash as its vkey)."""

    __slots__ = ("_key", "key_hash", "name", "public_key")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = name
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_hash = key_hash_of(name, self.public_key)

    @classmethod
    def from_home(cls, home: str | os.PathLike[str]) -> ClaimsSigner:
        """The current signing key under ``home/keys`` (created by `ledger.tlog.keys` if missing).

        Raises:
            CheckpointError: if the key file is not a private Ed25519 key or others can read it.
        """
        from ledger.tlog.keys import KEY_FILE, NAME_FILE, ensure_signing_key

        checked = ensure_signing_key(home)  # creates it, and refuses a key file others can read
        folder = Path(home) / "keys"
        name = (folder / NAME_FILE).read_text(encoding="utf-8").strip()
        key = serialization.load_pem_private_key((folder / KEY_FILE).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey) or name != checked.name:
            raise CheckpointError("the signing key changed while it was being loaded; retry")
        return cls(name, key)

    @property
    def vkey(self) -> str:
        """The verifier key text, as in ``trusted.vkeys``."""
        return vkey_of(self.name, self.public_key)

    def sign(self, claims: Mapping[str, Any]) -> dict[str, str]:
        """The signature object of a document over these claims."""
        signature = self._key.sign(CLAIMS_DOMAIN + canonical_bytes(claims))
        return {"signer": self.name, "key_hash": self.key_hash.hex(), "ed25519": _b64(signature)}


def build_document(
    claims: Mapping[str, Any],
    evidence: Sequence[EntryEvidence],
    checkpoint_text: str,
    signer: ClaimsSigner,
) -> dict[str, Any]:
    """The proof document of a receipt: its signed claims, entries, proofs and checkpoint."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "claims": dict(claims),
        "signature": signer.sign(claims),
        "entries": [
            {
                "sequence": e.sequence,
                "leaf_index": e.sequence - 1,
                "canonical": _b64(e.canonical),
                "leaf_hash": e.leaf_hash.hex(),
                "inclusion_proof": [_b64(h) for h in e.inclusion_proof],
            }
            for e in evidence
        ],
        "checkpoint": checkpoint_text,
    }


def document_bytes(document: Mapping[str, Any]) -> bytes:
    """The document as the bytes people download and the PDF embeds (stable, readable JSON)."""
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2)
    return (text + "\n").encode("utf-8")


# -- PDF attachment ---------------------------------------------------------------------------
def attach_to_pdf(pdf: bytes, document: bytes) -> bytes:
    """The PDF with the proof document embedded as `ATTACHMENT_NAME` (incremental update).

    The original bytes are kept unchanged at the start of the result; the same inputs always
    give the same output.
    """
    from pypdf import PdfWriter  # loaded on first use, not at import time
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    attached = writer.add_attachment(ATTACHMENT_NAME, document)
    attached.subtype = NameObject("/application/json")
    attached.description = TextStringObject(
        "Huiquan receipt proof: signed claims, ledger entries, Merkle inclusion proofs"
    )
    attached.associated_file_relationship = NameObject("/Data")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


#: pypdf's limits while a PDF from anyone is read: nothing may decompress, declare or work
#: beyond a few times the largest file taken, so a zip bomb or a huge xref fails fast.
_PDF_LIMITS: dict[str, int] = {
    "maximum_declared_stream_length": MAX_DOCUMENT_BYTES,
    "array_based_stream_maximum_output_length": MAX_DOCUMENT_BYTES,
    "array_maximum_element_count": 10_000,
    "dictionary_maximum_element_count": 10_000,
    "jbig2_maximum_output_length": MAX_DOCUMENT_BYTES,
    "lzw_maximum_output_length": MAX_DOCUMENT_BYTES,
    "run_length_maximum_output_length": MAX_DOCUMENT_BYTES,
    "zlib_maximum_output_length": MAX_DOCUMENT_BYTES,
    "zlib_maximum_recovery_input_length": MAX_DOCUMENT_BYTES,
    "brotli_maximum_output_length": MAX_DOCUMENT_BYTES,
    "stream_filters_maximum_length": 4,
    "stream_decoding_work_maximum_length": 4 * MAX_DOCUMENT_BYTES,
    "named_destinations_maximum_entries": 10_000,
    "named_destinations_maximum_depth": 32,
}


def extract_from_pdf(pdf: bytes) -> bytes:
    """The proof document embedded in a receipt PDF.

    The PDF may come from anyone (`huiquan receipt verify`, POST /verify): it is read under
    `_PDF_LIMITS`, and any failure of the PDF parser on it is this module's error, never
    another exception.

    Raises:
        ProofFormatError: when the bytes are not a readable PDF or carry no proof document.
    """
    from pypdf import PdfReader, apply_configuration

    try:
        with apply_configuration(**_PDF_LIMITS):
            reader = PdfReader(
                io.BytesIO(pdf),
                root_object_recovery_limit=1_000,
                xref_stream_maximum_entries=100_000,
            )
            attachments = reader.attachments
            found = attachments.get(ATTACHMENT_NAME) if ATTACHMENT_NAME in attachments else None
            found = [bytes(f) for f in found] if found else None
    except Exception as exc:  # hostile input: whatever pypdf raises, the PDF is not readable
        raise ProofFormatError(f"this file is not a readable PDF ({type(exc).__name__})") from exc
    if not found:
        raise ProofFormatError(
            f"this PDF carries no receipt proof (no embedded file {ATTACHMENT_NAME!r})"
        )
    if len(found) > 1:
        raise ProofFormatError(
            "this PDF carries more than one receipt proof: it was changed after it was issued"
        )
    return found[0]


def load_document(data: bytes) -> dict[str, Any]:
    """A proof document from a receipt PDF or from the JSON document itself.

    Raises:
        ProofFormatError: when the bytes are neither.
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ProofFormatError("the file is too large to be a receipt")
    if data.lstrip()[:5] == b"%PDF-":
        data = extract_from_pdf(data)
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProofFormatError("this is neither a receipt PDF nor a proof document (JSON)") from exc
    if not isinstance(document, dict):
        raise ProofFormatError("a proof document is a JSON object")
    return document


# -- verification -----------------------------------------------------------------------------
def _finding(code: str, message: str, message_zh: str) -> Finding:
    return Finding(code, message, message_zh)


def _verifiers(vkeys: Sequence[str]) -> list[TrustedKey]:
    """The well-formed keys among `vkeys` (a malformed one is skipped: it verifies nothing)."""
    found: list[TrustedKey] = []
    for vkey in vkeys:
        try:
            found.append(parse_vkey(vkey))
        except CheckpointError:
            continue
    return found


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ProofFormatError(f"{where}.{key} must be a string")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofFormatError(f"{where}.{key} must be a whole number")
    return value


def _mapping(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, Mapping):
        raise ProofFormatError(f"{where}.{key} must be an object")
    return value


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise ProofFormatError(f"{where}.{key} must be a list")
    return value


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProofFormatError(f"{what} is not base64") from exc


@dataclass(frozen=True, slots=True)
class _Entry:
    sequence: int
    leaf_index: int
    canonical: bytes
    leaf_hash_hex: str
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class _Document:
    claims: Mapping[str, Any]
    signature: Mapping[str, Any]
    entries: tuple[_Entry, ...]
    checkpoint: str


def _parse(document: object) -> _Document:
    if not isinstance(document, Mapping):
        raise ProofFormatError("a proof document is a JSON object")
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ProofFormatError(f"this is not a {FORMAT} version {VERSION} document")
    claims = _mapping(document, "claims", "document")
    signature = _mapping(document, "signature", "document")
    entries = []
    for n, raw in enumerate(_list(document, "entries", "document")):
        if not isinstance(raw, Mapping):
            raise ProofFormatError(f"entries.{n} must be an object")
        where = f"entries.{n}"
        hashes = _list(raw, "inclusion_proof", where)
        if len(hashes) > 64 or not all(isinstance(h, str) for h in hashes):
            raise ProofFormatError(f"{where}.inclusion_proof must be at most 64 base64 hashes")
        path = [_b64decode(h, f"{where}.inclusion_proof") for h in hashes]
        entries.append(
            _Entry(
                _int(raw, "sequence", where),
                _int(raw, "leaf_index", where),
                _b64decode(_text(raw, "canonical", where), f"{where}.canonical"),
                _text(raw, "leaf_hash", where),
                tuple(path),
            )
        )
    if not entries:
        raise ProofFormatError("the document carries no ledger entry")
    return _Document(claims, signature, tuple(entries), _text(document, "checkpoint", "document"))


def _sub(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _amount(value: object, currency: object) -> int | None:
    if not isinstance(value, str) or not isinstance(currency, str):
        return None
    try:
        return parse_minor(value, currency, positive=True)
    except (LedgerError, ValueError, KeyError):
        return None


def _show(value: object, currency: object) -> str:
    minor = _amount(value, currency)
    return f"{value} {currency}" if minor is None else display_amount(minor, str(currency))


def _compare_gift(
    claimed: Mapping[str, Any], actual: Mapping[str, Any], label: str
) -> list[Finding]:
    """Findings where a claimed gift differs from its ledger entry's facts."""
    out: list[Finding] = []
    same_amount = (
        _amount(claimed.get("amount"), claimed.get("currency"))
        == _amount(actual["amount"], actual["currency"])
        and claimed.get("currency") == actual["currency"]
    )
    if not same_amount:
        shown = _show(claimed.get("amount"), claimed.get("currency"))
        real = _show(actual["amount"], actual["currency"])
        out.append(
            _finding(
                "amount",
                f"the amount on this receipt{label} ({shown}) is not the amount in the ledger "
                f"entry ({real})",
                f"收据{label}上的金额（{shown}）与账本记录的金额（{real}）不符",
            )
        )
    if _amount(claimed.get("cny_amount"), "CNY") != _amount(actual["cny_amount"], "CNY"):
        shown, real = _show(claimed.get("cny_amount"), "CNY"), _show(actual["cny_amount"], "CNY")
        out.append(
            _finding(
                "cny_amount",
                f"the CNY value on this receipt{label} ({shown}) is not the CNY value in the "
                f"ledger entry ({real})",
                f"收据{label}上的人民币金额（{shown}）与账本记录（{real}）不符",
            )
        )
    checks = (
        ("received_on", "the date received", "收到日期"),
        ("fund", "the fund", "受赠基金"),
        ("kind", "the kind of gift", "捐赠类型"),
        ("entry_id", "the ledger entry named", "所记账目"),
    )
    for key, what, what_zh in checks:
        if claimed.get(key) != actual[key]:
            out.append(
                _finding(
                    key,
                    f"{what} on this receipt{label} ({claimed.get(key)}) is not that of the "
                    f"ledger entry ({actual[key]})",
                    f"收据{label}上的{what_zh}（{claimed.get(key)}）与账本记录（{actual[key]}）不符",
                )
            )
    return out


def _check_claims(claims: Mapping[str, Any], facts: list[dict[str, Any] | None]) -> list[Finding]:
    """Findings where the claims disagree with the ledger entries they rest on."""
    out: list[Finding] = []
    gifts = claims.get("gifts")
    if not isinstance(gifts, list) or len(gifts) != len(facts):
        return [
            _finding(
                "gifts",
                "the gifts listed on this receipt are not the ledger entries it carries",
                "收据所列捐赠与所附账本记录不一致",
            )
        ]
    donor = _sub(claims, "donor")
    annual = claims.get("kind") == "annual"
    for n, (claimed, actual) in enumerate(zip(gifts, facts, strict=True)):
        if actual is None or not isinstance(claimed, Mapping):
            continue
        label = f" (gift {claimed.get('serial', n + 1)})" if annual else ""
        out += _compare_gift(claimed, actual, label)
        if actual["donor_id"] != donor.get("id"):
            out.append(
                _finding(
                    "donor",
                    f"the donor on this receipt{label} is not the donor of the ledger entry",
                    f"收据{label}上的捐赠人与账本记录的捐赠人不符",
                )
            )
    known = [f for f in facts if f is not None]
    if annual:
        total = sum(_amount(f["cny_amount"], "CNY") or 0 for f in known)
        claimed_total = _amount(claims.get("cny_amount"), "CNY")
        if len(known) == len(facts) and claimed_total != total:
            shown, real = _show(claims.get("cny_amount"), "CNY"), display_amount(total, "CNY")
            out.append(
                _finding(
                    "amount",
                    f"the total on this receipt ({shown}) is not the sum of the gifts in the "
                    f"ledger ({real})",
                    f"收据上的合计（{shown}）与账本记录的捐赠合计（{real}）不符",
                )
            )
    elif len(known) == 1:
        top = {k: claims.get(k) for k in ("amount", "currency", "cny_amount", "received_on")}
        fund = claims.get("fund")
        top.update(
            fund=fund.get("code") if isinstance(fund, Mapping) else None,
            kind=claims.get("kind"),
            entry_id=known[0]["entry_id"],
        )
        seen = {f.code for f in out}
        out += [f for f in _compare_gift(top, known[0], "") if f.code not in seen]
    return out


def _check_signature(
    claims: Mapping[str, Any],
    signature: Mapping[str, Any],
    verifiers: list[TrustedKey],
    ledger_mismatch: bool,
) -> list[Finding]:
    name, key_hash, value = (signature.get(k) for k in ("signer", "key_hash", "ed25519"))
    matching = [v for v in verifiers if v.name == name and v.key_hash.hex() == key_hash]
    if not matching:
        return [
            _finding(
                "signature_key",
                f"the receipt is not signed by a trusted key (signed by {name!r})",
                "收据并非由受信任的机构密钥签署",
            )
        ]
    try:
        raw = base64.b64decode(str(value), validate=True)
        matching[0].public_key.verify(raw, CLAIMS_DOMAIN + canonical_bytes(claims))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        if ledger_mismatch:
            return [
                _finding(
                    "signature",
                    "the receipt's claims were changed after signing",
                    "收据内容在签署后被改动",
                )
            ]
        return [
            _finding(
                "signature",
                "the donor name or serial was changed after signing",
                "捐赠人姓名或收据编号在签署后被改动",
            )
        ]
    return []


def _check_entries(
    entries: Sequence[_Entry], size: int, root: bytes
) -> tuple[list[Finding], list[dict[str, Any] | None]]:
    findings: list[Finding] = []
    facts: list[dict[str, Any] | None] = []
    for entry in entries:
        leaf = leaf_hash(entry.canonical)
        try:
            obj = json.loads(entry.canonical.decode("utf-8"))
            fact = gift_facts(obj) if isinstance(obj, Mapping) else None
        except (UnicodeDecodeError, ValueError, RecursionError, ProofFormatError):
            fact = None
        if fact is None or fact["sequence"] != entry.sequence:
            findings.append(
                _finding(
                    "entry",
                    f"ledger entry {entry.sequence} in this receipt is not a gift entry as the "
                    "ledger writes them",
                    f"收据所附第 {entry.sequence} 号账目不是账本写入的捐赠记录",
                )
            )
            fact = None
        if leaf.hex() != entry.leaf_hash_hex.lower():
            findings.append(
                _finding(
                    "leaf_hash",
                    f"the ledger entry {entry.sequence} was changed: it no longer hashes to its "
                    "leaf hash",
                    f"第 {entry.sequence} 号账目已被改动，与其叶哈希不符",
                )
            )
        if entry.leaf_index != entry.sequence - 1 or not verify_inclusion(
            leaf, entry.leaf_index, size, entry.proof, root
        ):
            findings.append(
                _finding(
                    "inclusion",
                    f"the inclusion proof does not lead to the signed root (entry "
                    f"{entry.sequence}, tree size {size})",
                    "包含证明无法推导出已签名的默克尔根",
                )
            )
        facts.append(fact)
    return findings, facts


def _facts(claims: Mapping[str, Any], checkpoint: tuple[str, int] | None) -> dict[str, str]:
    donor = _sub(claims, "donor")
    fund = claims.get("fund") if isinstance(claims.get("fund"), Mapping) else None
    facts = {
        "serial": str(claims.get("serial", "")),
        "kind": str(claims.get("kind", "")),
        "donor": str(donor.get("name", "")),
        "amount": _show(claims.get("amount"), claims.get("currency")),
        "cny_amount": _show(claims.get("cny_amount"), "CNY"),
        "received_on": str(claims.get("received_on") or claims.get("year") or ""),
        "issued_on": str(claims.get("issued_on", "")),
        "fund": f"{fund.get('name', '')} ({fund.get('code', '')})" if fund else "",
        "signing_officer": str(claims.get("signing_officer", "")),
    }
    if claims.get("replaces"):
        facts["replaces"] = str(claims["replaces"])
    if checkpoint is not None:
        facts["checkpoint"] = f"{checkpoint[0]} @ {checkpoint[1]}"
    return facts


def verify_receipt_document(document: object, trusted_vkeys: Sequence[str]) -> VerificationResult:
    """Check a receipt's proof document offline against trusted verifier keys.

    Genuine means: the checkpoint is signed by a trusted key; every ledger entry hashes to its
    leaf and its inclusion proof leads to the checkpoint's root at its size; the claims agree
    with the entries (amount, currency, CNY value, fund, date, kind, donor); and the claims
    carry a valid signature by a trusted key. Every failed check is reported.
    """
    if isinstance(trusted_vkeys, str):
        raise TypeError("trusted_vkeys must be a sequence of vkey strings, not one string")
    try:
        doc = _parse(document)
    except ProofFormatError as exc:
        return VerificationResult(
            (
                _finding(
                    "malformed", f"this is not a valid receipt proof: {exc}", "这不是有效的收据证明"
                ),
            )
        )
    findings: list[Finding] = []
    try:
        checkpoint, _ = parse_signed_checkpoint(doc.checkpoint)
    except CheckpointError as exc:
        return VerificationResult(
            (_finding("checkpoint", f"the checkpoint is malformed: {exc}", "检查点格式错误"),),
            _facts(doc.claims, None),
        )
    try:
        verify_checkpoint(doc.checkpoint, trusted_vkeys)
    except CheckpointError as exc:
        findings.append(
            _finding(
                "checkpoint",
                f"checkpoint not signed by a trusted key: {exc}",
                "检查点并非由受信任的密钥签署",
            )
        )
    entry_findings, facts = _check_entries(doc.entries, checkpoint.size, checkpoint.root)
    findings += entry_findings
    claim_findings = _check_claims(doc.claims, facts)
    findings += claim_findings
    findings += _check_signature(
        doc.claims, doc.signature, _verifiers(trusted_vkeys), bool(claim_findings)
    )
    return VerificationResult(
        tuple(findings), _facts(doc.claims, (checkpoint.origin, checkpoint.size))
    )


def same_code(a: str, b: str) -> bool:
    """Constant-time comparison of two scan codes."""
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))
