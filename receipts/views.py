"""A receipt as the database holds it, turned into the view the templates render and its proof.

Invariants owned here:
- Everything a receipt shows is read from the books in one place (`load_context`): the receipt
  row and its void, the donor, the gift entries as their canonical objects (the bytes the
  journal hashed), and the funds. Amounts, dates, fund and kind come from the entries through
  `receipts.proof.gift_facts`, the same function a verifier uses, so what the page says
  and what the proof proves cannot drift apart.
- A receipt is proven against the latest stored checkpoint whose size covers its entries; when
  there is none, one is signed (with the `audits` checkpoint maker and key, in a writing unit of
  work, so workers never race) and then used. Inclusion proofs are checked against the
  checkpoint's root before they are handed out, and kept in a small per-process cache: a proof
  for (entry, tree size) never changes.
- Only restricted cash gifts show "where my gift went" (`where_lines`, over
  `receipts.allocation`), always computed live, by one function for a gift's receipt and the
  annual receipt that covers it; scholarships appear as a count of students per term and
  county, never by pseudonym or name. An in-kind gift shows where its goods were handed over
  (`receipts.allocation.where_goods_went`).
- The donor's own link names the donor even when they chose anonymity (`public_view=False`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, select

from ledger.model import Donor, Fund
from ledger.money import FUNCTIONAL_CURRENCY, format_minor, parse_minor
from ledger.storage.repository import SqlRepository
from ledger.storage.tables import journal_entries, receipts
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.journal import iter_entry_objects, leaf_hashes
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.merkle import inclusion_proof, root_from_leaf_hashes, verify_inclusion
from ledger.tlog.proofs import StoredCheckpoint, latest_checkpoint, make_checkpoint
from receipts.allocation import fold, where_goods_went, where_it_went
from receipts.fiscal import fiscal_reference_of
from receipts.issuers import issuer_at as issuers_at
from receipts.issuers import issuer_named
from receipts.issuing import ReceiptRecord, get_receipt
from receipts.model import LANGUAGES, AllocationLine, CoveredGift, Language, ReceiptView
from receipts.proof import EntryEvidence, gift_facts, scan_code

__all__ = [
    "Gift",
    "Issuer",
    "ProofMaterial",
    "ReceiptContext",
    "build_view",
    "claims_of",
    "issuer_of",
    "latest_receipt_of_entry",
    "load_context",
    "preferred_language",
    "proof_material",
    "where_lines",
]


@dataclass(frozen=True, slots=True)
class Issuer:
    """The organisation that issues a receipt: the issuer of the gift's fund (`issuer_of`).

    `configured` is False for the stand-in used when a fund has no issuer: the receipt then says
    so in one line. `demo` marks the demo data's made-up issuers.
    """

    name: str
    registration_no: str
    seal_text: str = ""
    demo: bool = False
    configured: bool = True


def issuer_of(conn: Connection, ctx: ReceiptContext, fallback: Issuer) -> Issuer:
    """The issuer of the receipt's fund when it was issued, else `fallback` (the settings').

    An annual receipt is issued per issuer and names it; one issued before that (without an
    issuer in its data) takes the issuer of its first gift's fund.
    """
    named = ctx.record.data.get("issuer") if ctx.is_annual else None
    if named:
        found = issuer_named(conn, str(named))
    else:
        found = issuers_at(conn, str(ctx.gifts[0].facts["fund"]), ctx.record.issued_at)
    if found is None:
        return fallback
    return Issuer(found.name, found.registration_no, found.seal_text, found.demo)


@dataclass(frozen=True, slots=True)
class Gift:
    """One gift a receipt acknowledges: its ledger entry as hashed, and the facts read from it."""

    serial: str
    entry: Mapping[str, Any]
    canonical: bytes
    facts: Mapping[str, Any]
    fund: Fund | None

    @property
    def sequence(self) -> int:
        return int(self.facts["sequence"])


@dataclass(frozen=True, slots=True)
class ReceiptContext:
    """Everything stored about one receipt: the row, its donor and the gifts it covers."""

    record: ReceiptRecord
    donor: Donor
    gifts: tuple[Gift, ...]

    @property
    def serial(self) -> str:
        return self.record.serial

    @property
    def status(self) -> str:
        return "void" if self.record.is_void else "issued"

    @property
    def is_annual(self) -> bool:
        return self.record.kind == "annual"

    @property
    def last_sequence(self) -> int:
        return max(g.sequence for g in self.gifts)


@dataclass(frozen=True, slots=True)
class ProofMaterial:
    """The checkpoint a receipt is proven against and each gift entry's evidence."""

    checkpoint: StoredCheckpoint
    evidence: tuple[EntryEvidence, ...]


def _gift(conn: Connection, repo: SqlRepository, serial: str, entry_id: str) -> Gift | None:
    sequence = conn.scalar(
        select(journal_entries.c.sequence).where(journal_entries.c.id == entry_id)
    )
    if sequence is None:
        return None
    for _head, obj, canonical in iter_entry_objects(conn, start=int(sequence), upto=int(sequence)):
        facts = gift_facts(obj)
        return Gift(serial, obj, canonical, facts, repo.get_fund(str(facts["fund"])))
    return None


def load_context(conn: Connection, serial: str) -> ReceiptContext | None:
    """The stored receipt `serial` with its donor and gifts, or None if there is no such receipt."""
    record = get_receipt(conn, serial)
    if record is None:
        return None
    repo = SqlRepository(conn)
    donor = repo.get_donor(record.donor_id)
    if donor is None:
        return None
    if record.kind == "annual":
        pairs = []
        for covered in record.data.get("covers", []):
            row = get_receipt(conn, str(covered))
            if row is not None and row.entry_id:
                pairs.append((row.serial, row.entry_id))
    else:
        pairs = [(record.serial, record.entry_id)] if record.entry_id else []
    gifts = [_gift(conn, repo, s, e) for s, e in pairs]
    if not gifts or any(g is None for g in gifts):
        return None
    fiscal = fiscal_reference_of(conn, serial) if not record.fiscal_code else None
    if fiscal is not None:  # recorded after the fact, as an appended row
        record = replace(record, fiscal_code=fiscal.code, fiscal_number=fiscal.number)
    return ReceiptContext(record, donor, tuple(g for g in gifts if g is not None))


def latest_receipt_of_entry(conn: Connection, entry_id: str) -> str | None:
    """The serial of an entry's live receipt, else of its newest void one (None if it has none)."""
    serials = list(
        conn.scalars(
            select(receipts.c.serial)
            .where(receipts.c.entry_id == entry_id)
            .order_by(receipts.c.issued_at.desc(), receipts.c.serial.desc())
        )
    )
    for serial in serials:
        record = get_receipt(conn, serial)
        if record is not None and not record.is_void:
            return serial
    return serials[0] if serials else None


def preferred_language(ctx: ReceiptContext, asked: str | None) -> Language:
    """The language asked for if it is one of ours, else the donor's, else Simplified Chinese."""
    for choice in (asked, ctx.donor.language):
        for language in LANGUAGES:
            if choice == language:
                return language
    return "zh-Hans"


# -- claims -------------------------------------------------------------------------------------
def claims_of(ctx: ReceiptContext, issuer: Issuer) -> dict[str, Any]:
    """What the receipt states, as the signed claims of its proof document."""
    record = ctx.record
    gifts = [{**g.facts, "serial": g.serial} for g in ctx.gifts]
    claims: dict[str, Any] = {
        "serial": record.serial,
        "kind": record.kind,
        "issuer": {"name": issuer.name, "registration_no": issuer.registration_no},
        "issued_on": record.issued_at[:10],
        "donor": {"id": ctx.donor.id, "name": ctx.donor.name},
        "replaces": record.replaces_serial,
        "signing_officer": str(record.data.get("officer", "")),
        "gifts": gifts,
    }
    if ctx.is_annual:
        total = sum(parse_minor(g["cny_amount"], FUNCTIONAL_CURRENCY) for g in gifts)
        amount = format_minor(total, FUNCTIONAL_CURRENCY)
        claims.update(
            amount=amount,
            currency=FUNCTIONAL_CURRENCY,
            cny_amount=amount,
            received_on=None,
            year=record.data.get("year"),
            fund=None,
        )
        return claims
    gift = ctx.gifts[0]
    claims.update(
        amount=gift.facts["amount"],
        currency=gift.facts["currency"],
        cny_amount=gift.facts["cny_amount"],
        received_on=gift.facts["received_on"],
        year=None,
        fund={"code": gift.facts["fund"], "name": gift.fund.name if gift.fund else ""},
    )
    return claims


# -- proofs -------------------------------------------------------------------------------------
# (sequence, tree size, root hex) -> inclusion path; the root keeps databases apart.
_PROOFS: OrderedDict[tuple[int, int, str], tuple[bytes, ...]] = OrderedDict()
_PROOFS_LOCK = threading.Lock()
_PROOFS_MAX = 4096


def _checkpoint_covering(
    engine: Engine, conn: Connection, size: int, home: str | os.PathLike[str]
) -> StoredCheckpoint:
    found = latest_checkpoint(conn)
    if found is not None and found.size >= size:
        return found
    conn.rollback()  # end this read snapshot, so the rest of the request sees the new checkpoint
    with UnitOfWork(engine) as uow:
        made = make_checkpoint(uow.connection, ensure_signing_key(home))
        uow.commit()
    return made


def _paths(
    conn: Connection, sequences: list[int], checkpoint: StoredCheckpoint
) -> dict[int, tuple[bytes, ...]]:
    size, root_hex = checkpoint.size, checkpoint.root
    with _PROOFS_LOCK:
        cached = {
            s: _PROOFS[(s, size, root_hex)] for s in sequences if (s, size, root_hex) in _PROOFS
        }
    missing = [s for s in sequences if s not in cached]
    if not missing:
        return cached
    leaves = leaf_hashes(conn, size)
    root = bytes.fromhex(checkpoint.root)
    if len(leaves) != size or root_from_leaf_hashes(leaves) != root:
        raise RuntimeError(f"the journal no longer matches checkpoint {size}'s root")
    for s in missing:
        path = tuple(inclusion_proof(leaves, s - 1))
        if not verify_inclusion(leaves[s - 1], s - 1, size, path, root):  # pragma: no cover
            raise RuntimeError(f"internal error: the proof of entry {s} does not verify")
        cached[s] = path
    with _PROOFS_LOCK:
        for s in missing:
            _PROOFS[(s, size, root_hex)] = cached[s]
        while len(_PROOFS) > _PROOFS_MAX:
            _PROOFS.popitem(last=False)
    return cached


def proof_material(
    engine: Engine, conn: Connection, ctx: ReceiptContext, home: str | os.PathLike[str]
) -> ProofMaterial:
    """The checkpoint covering the receipt's entries (signed now if needed) and their proofs.

    Raises:
        ledger.tlog.proofs.ProofError: when the journal fails the checkpoint maker's checks.
        RuntimeError: when the stored journal no longer matches a signed checkpoint.
    """
    checkpoint = _checkpoint_covering(engine, conn, ctx.last_sequence, home)
    paths = _paths(conn, [g.sequence for g in ctx.gifts], checkpoint)
    evidence = tuple(EntryEvidence(g.sequence, g.canonical, paths[g.sequence]) for g in ctx.gifts)
    return ProofMaterial(checkpoint, evidence)


# -- the view -----------------------------------------------------------------------------------
def where_lines(conn: Connection, ctx: ReceiptContext) -> tuple[AllocationLine, ...]:
    """What the receipt's restricted cash gifts have paid for so far, and where its in-kind
    gifts' goods were handed over, folded into lines.

    The one allocation of the books: a gift's receipt and the annual receipt that covers the
    same gift show the same spending (an annual receipt folds all of its gifts together).
    """
    slices = []
    for gift in ctx.gifts:
        if gift.facts["kind"] == "in_kind":
            slices += where_goods_went(conn, gift_sequence=gift.sequence)
            continue
        if gift.fund is None or not gift.fund.restricted:
            continue
        slices += where_it_went(
            conn,
            fund=str(gift.facts["fund"]),
            currency=str(gift.facts["currency"]),
            gift_sequence=gift.sequence,
        )
    return tuple(
        AllocationLine(
            g.first,
            g.name,
            g.county,
            g.amount_minor,
            g.currency,
            kind=g.kind,
            last_date=g.last if g.last != g.first else None,
            town=g.town,
            count=g.count,
        )
        for g in fold(slices)
    )


def _minor(text: object, currency: str) -> int:
    return parse_minor(str(text), currency)


def _date(text: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return None


def build_view(
    ctx: ReceiptContext,
    proof: ProofMaterial,
    *,
    issuer: Issuer,
    language: Language,
    verify_url: str,
    where: tuple[AllocationLine, ...],
) -> ReceiptView:
    """The view the receipt templates render, for the donor's own link."""
    record, first = ctx.record, ctx.gifts[0]
    claims = claims_of(ctx, issuer)
    data: Mapping[str, Any] = first.entry.get("data", {})
    currency = str(claims["currency"])
    received = max(g.facts["received_on"] for g in ctx.gifts)
    funds = dict.fromkeys(g.fund.name if g.fund else str(g.facts["fund"]) for g in ctx.gifts)
    purposes = dict.fromkeys(g.fund.purpose for g in ctx.gifts if g.fund and g.fund.purpose)
    basis = data.get("valuation_basis")
    if basis and data.get("evidence"):
        basis = f"{basis}（{data['evidence']}）"
    return ReceiptView(
        serial=record.serial,
        status="void" if record.is_void else "issued",
        void_reason=record.void_reason,
        replaces_serial=record.replaces_serial,
        replaced_by_serial=record.replaced_by,
        issuer_name=issuer.name,
        issuer_registration_no=issuer.registration_no,
        issued_on=dt.date.fromisoformat(record.issued_at[:10]),
        received_on=dt.date.fromisoformat(str(received)),
        donor_name=ctx.donor.name,
        donor_is_anonymous=ctx.donor.anonymous,
        public_view=False,
        kind=record.kind,  # type: ignore[arg-type]
        amount_minor=_minor(claims["amount"], currency),
        currency=currency,
        cny_minor=_minor(claims["cny_amount"], FUNCTIONAL_CURRENCY),
        fx_rate=None if ctx.is_annual else data.get("fx_rate"),
        fx_source=None if ctx.is_annual else data.get("fx_source"),
        fx_date=None if ctx.is_annual else _date(data.get("fx_date")),
        fund_name="、".join(funds),
        fund_purpose="；".join(purposes) or "—",
        in_kind_description=data.get("description") if first.facts["kind"] == "in_kind" else None,
        in_kind_quantity=data.get("quantity") if first.facts["kind"] == "in_kind" else None,
        valuation_basis=basis if first.facts["kind"] == "in_kind" else None,
        goods_or_services=None,
        signing_officer=str(record.data.get("officer", "")),
        fiscal_receipt_code=record.fiscal_code,
        fiscal_receipt_number=record.fiscal_number,
        verify_url=verify_url,
        entry_hash=proof.evidence[0].leaf_hash.hex(),
        leaf_index=proof.evidence[0].sequence - 1,
        inclusion_proof=tuple(h.hex() for h in proof.evidence[0].inclusion_proof),
        checkpoint_text=proof.checkpoint.signed_text,
        where_it_went=where,
        covered_gifts=tuple(
            CoveredGift(
                g.serial,
                dt.date.fromisoformat(str(g.facts["received_on"])),
                _minor(g.facts["amount"], str(g.facts["currency"])),
                str(g.facts["currency"]),
            )
            for g in ctx.gifts
        )
        if ctx.is_annual
        else (),
        language=language,
        issuer_seal_text=issuer.seal_text or issuer.name,
        issuer_demo=issuer.demo,
        issuer_configured=issuer.configured,
    )


def verify_link(base: str, ctx: ReceiptContext, issuer: Issuer) -> str:
    """The QR code's target: the public verify page, with the serial and its scan code."""
    return f"{base}/verify?serial={ctx.serial}&code={scan_code(claims_of(ctx, issuer))}"
