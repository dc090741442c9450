"""The demo's evidence: a document on every payment, the goods handed over, a bank statement.

A step of `huiquan demo` (`add_demo_evidence`), run after the demo books are loaded and
depreciated, through the same use cases as the API:

- the goods received in kind are handed over (`usecases.handover`): the surgical equipment,
  at its carrying value on 2026-10-31, and the consumables to 炉霍县人民医院 (project
  LH-HOSP-SURGERY), the books to the 锦炉 girls' schools, the winter clothes passed through to
  the school the donor named; each with the recipient's signed delivery note (attached to the
  gift, named by the handover, filed on the handover too) and a photo;
- every disbursement gets its bank transfer slip, every scholarship payout its batch's bank
  slip (one per fund and pay day: 代发 batch), all filed in one unit of work
  (`usecases.evidence.file_documents`); most payments are acknowledged by their recipients
  (a project's signed receipt of funds, a school's signed list of a batch's students, by
  pseudonymous voucher numbers only: never a name), those of the last month and about one in
  eight older ones not yet, so the registers and the transparency page show real shares;
- the shipped seed's books get a bank statement: `demo_data/bank-statement-LUHUO-PAIR-2026-09.xml`
  (camt.053.001.08), fund LUHUO-PAIR's 1002-CNY for September 2026, imported and matched
  (`usecases.reconciliation`); its one line the books lack, an SMS notification fee, is
  recorded from the line as a bank fee, so the statement reconciles to a zero difference.

Invariants owned here:
- Documents are made from the books' own figures by `cli.demo_pdf` (no clock, no renderer),
  so the same books give the same files; acknowledgment dates and the few payments left
  unacknowledged follow the seed.
- Nothing personal is written into a document: projects by code, students by voucher number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from sqlalchemy import Engine, func, select

from cli.demo_pdf import pdf, png
from ledger.money import format_minor
from ledger.storage.tables import donors, journal_entries, postings, projects
from usecases.books import Books
from usecases.evidence import Filing, Upload, file_documents
from usecases.unit import Actor, AuditFacts

__all__ = [
    "STATEMENT",
    "DemoEvidence",
    "add_demo_evidence",
    "demo_evidence_step",
    "statement_xml",
]

#: The demo's bank statement (shipped seed only): file, fund, account, month.
STATEMENT = ("bank-statement-LUHUO-PAIR-2026-09.xml", "LUHUO-PAIR", "1002-CNY", "2026-09")
#: The line of the statement the books lack until it is recorded from it.
SMS_FEE = (dt.date(2026, 9, 30), 3000, "短信通知服务费 SMS notification fee 2026-09")
HOSPITAL = "炉霍县人民医院"
#: description -> (recipient, project, handed over on)
HANDOVERS = {
    "腹腔镜手术系统及配套手术器械": (HOSPITAL, "LH-HOSP-SURGERY", dt.date(2026, 10, 31)),
    "一次性手术耗材（缝合线、手术包等）": (HOSPITAL, "LH-HOSP-SURGERY", dt.date(2024, 10, 15)),
    "课外读物与学习用品": (
        "炉霍县受助女童所在学校（统一分发）",
        "JL-SCHOLAR",
        dt.date(2025, 3, 20),
    ),
    "儿童冬衣": ("简阳市踏水镇中心小学", "", dt.date(2025, 11, 5)),
}


@dataclass(frozen=True, slots=True)
class DemoEvidence:
    """What the step filed: records, distinct files, acknowledgments, handovers, statement."""

    records: int
    files: int
    acknowledged: int
    payments: int
    handovers: int
    statement: dict[str, Any] | None


def _pick(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:4], "big")


def _cny(minor: int) -> str:
    return f"CNY {format_minor(minor, 'CNY')}"


def _payments(engine: Engine) -> list[dict[str, Any]]:
    """Every disbursement and payout (reversed ones too), with fund, amount and group."""
    e, p = journal_entries.c, postings.c
    query = (
        select(e.id, e.sequence, e.kind, e.occurred_on, p.fund, p.amount, p.project, p.ref)
        .join(postings, p.sequence == e.sequence)
        .where(
            e.kind.in_(("disbursement", "scholarship_payout")),
            p.account.in_(("5101", "2209")),
            p.amount > 0,
        )
        .order_by(e.sequence)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        reversed_ids = set(conn.scalars(select(e.reverses).where(e.reverses.is_not(None))))
    for row in rows:
        row["reversed"] = row["id"] in reversed_ids
    return rows


def _acknowledged_on(seed: int, row: dict[str, Any], key: str, today: dt.date) -> dt.date | None:
    """When the recipient signed for it; None for the last month's and one in eight others."""
    paid = dt.date.fromisoformat(row["occurred_on"])
    pick = _pick(seed, key)
    if row["reversed"] or paid >= dt.date(2026, 10, 1) or pick % 8 == 0:
        return None
    return min(paid + dt.timedelta(days=3 + pick % 12), today)


def _payment_filings(
    engine: Engine, seed: int, today: dt.date
) -> tuple[dict[str, Upload], list[Filing], int]:
    documents: dict[str, bytes] = {}
    filings: list[Filing] = []
    batches: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    rows = _payments(engine)
    for row in rows:
        if row["kind"] == "scholarship_payout":
            batches[(row["fund"], row["occurred_on"])].append(row)
            continue
        slip, signed = f"slip-{row['sequence']}", f"ack-{row['sequence']}"
        facts = [
            f"Fund: {row['fund']}",
            f"Project: {row['project']}",
            f"Amount: {_cny(row['amount'])}",
            f"Paid on: {row['occurred_on']}",
            f"Journal voucher: {row['sequence']}",
        ]
        documents[slip] = pdf("Bank transfer slip / payment voucher", facts)
        filings.append(Filing(row["id"], "bank_slip", slip, "demo: bank transfer slip"))
        on = _acknowledged_on(seed, row, str(row["sequence"]), today)
        if on is not None:
            documents[signed] = pdf(
                "Receipt of funds, signed by the project",
                [*facts, f"Received in full on {on.isoformat()}", "Signed: project lead (demo)"],
            )
            filings.append(Filing(row["id"], "acknowledgment", signed, "demo: 签收", on))
    for (fund, day), batch in sorted(batches.items()):
        slip, signed = f"batch-{fund}-{day}", f"batch-ack-{fund}-{day}"
        total = sum(r["amount"] for r in batch)
        vouchers = [f"  voucher {r['sequence']}: {_cny(r['amount'])}" for r in batch]
        documents[slip] = pdf(
            "Bank batch payment slip (scholarships)",
            [
                f"Fund: {fund}",
                f"Paid on: {day}",
                f"Payments: {len(batch)}, {_cny(total)}",
                *vouchers[:40],
            ],
        )
        on = _acknowledged_on(seed, batch[0], f"{fund}:{day}", today)
        if on is not None:
            documents[signed] = pdf(
                "Signed list of scholarship receipts (school)",
                [
                    f"Fund: {fund}",
                    f"Paid on: {day}",
                    f"Signed on: {on.isoformat()}",
                    *vouchers[:40],
                    "Students are listed by voucher number only.",
                ],
            )
        for row in batch:
            filings.append(Filing(row["id"], "bank_slip", slip, "demo: 代发 batch slip"))
            if on is not None and not row["reversed"]:
                filings.append(Filing(row["id"], "acknowledgment", signed, "demo: 签收", on))
    uploads = {name: Upload(io.BytesIO(body), f"{name}.pdf") for name, body in documents.items()}
    return uploads, filings, len(rows)


def _in_kind_gifts(engine: Engine) -> list[tuple[str, str]]:
    e = journal_entries.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(e.id, e.data).where(e.kind == "in_kind").order_by(e.sequence)
        ).all()
    return [(str(r.id), str(json.loads(r.data).get("description", ""))) for r in rows]


def _hand_over_goods(books: Books, by: Actor) -> list[tuple[str, Upload]]:
    """Hand over every demo gift in kind; (handover entry id, its delivery note) of each."""
    from usecases.handover import hand_over

    gifts = [(g, d) for g, d in _in_kind_gifts(books.engine) if d in HANDOVERS]
    notes = {
        f"delivery-{n}": pdf(
            "Delivery note, signed by the recipient",
            [
                f"Goods: gift {gift} (as described in the gift's entry)",
                f"Recipient: organisation {n} of the demo's handovers",
                f"Handed over on: {HANDOVERS[description][2].isoformat()}",
                "Received in good order. Signed and stamped (demo).",
            ],
        )
        for n, (gift, description) in enumerate(gifts, 1)
    }
    uploads = {name: Upload(io.BytesIO(body), f"{name}.pdf") for name, body in notes.items()}
    filed = file_documents(
        books,
        uploads,
        [
            Filing(gift, "acknowledgment", f"delivery-{n}", "demo: 交接单 signed by the recipient")
            for n, (gift, _d) in enumerate(gifts, 1)
        ],
        by=by,
    )
    out = []
    for (gift, description), note in zip(gifts, filed, strict=True):
        recipient, project, on = HANDOVERS[description]
        entry = hand_over(
            books,
            gift,
            by=by,
            quantity=str(_quantity_of(books.engine, gift)),
            recipient=recipient,
            handed_over_on=on,
            project=project,
            evidence=[note.id],
            memo=f"物资移交 {recipient}",
        )
        body = notes[f"delivery-{len(out) + 1}"]
        out.append((entry.id, Upload(io.BytesIO(body), note.file_name)))
    return out


def _quantity_of(engine: Engine, gift: str) -> Any:
    from ledger.services import gift_quantity

    with engine.connect() as conn:
        data = conn.scalar(select(journal_entries.c.data).where(journal_entries.c.id == gift))
    found = gift_quantity(str(json.loads(data or "{}").get("quantity", "")))
    return found[0] if found else 1


def add_demo_evidence(books: Books, *, seed: int, shipped: bool, by: Actor) -> DemoEvidence:
    """File the demo's documents, hand its goods over, reconcile its bank statement.

    `shipped`: the books are the shipped seed's, whose bank statement is in `demo_data/`.
    """
    today = dt.datetime.now(dt.UTC).date()
    handed = _hand_over_goods(books, by)
    uploads, filings, payments = _payment_filings(books.engine, seed, today)
    for n, (entry_id, note) in enumerate(handed, 1):
        photo, signed = f"photo-{n}", f"handover-note-{n}"
        uploads[photo] = Upload(io.BytesIO(png(seed + n)), f"handover-{n}.png")
        uploads[signed] = note
        filings.append(Filing(entry_id, "photo", photo, "demo: the goods at the recipient"))
        filings.append(Filing(entry_id, "acknowledgment", signed, "demo: 交接单"))
    audit = AuditFacts(actor=by.name, role=by.role, action="evidence.file", target="demo")
    filed = file_documents(books, uploads, filings, by=by, audit=audit)
    statement = _reconcile_statement(books, by) if shipped else None
    return DemoEvidence(
        records=len(filed) + len(handed),
        files=len({r.sha256 for r in filed}),
        acknowledged=sum(1 for f in filings if f.acknowledged_on is not None),
        payments=payments,
        handovers=len(handed),
        statement=statement,
    )


def _reconcile_statement(books: Books, by: Actor) -> dict[str, Any]:
    """Import the shipped statement, record its one missing line as a bank fee, report."""
    from usecases import reconciliation

    name, fund, account, _month = STATEMENT
    data = (files("cli") / "demo_data" / name).read_bytes()
    imported = reconciliation.import_statement(books, data, fund=fund, account=account, by=by)
    report = reconciliation.reconciliation_report(books, imported.statement_id)
    for line in report["unmatched_lines"]:
        reconciliation.record_fee_from_line(
            books,
            imported.statement_id,
            line["line"],
            by=by,
            memo="银行短信通知服务费：对账时从银行流水补记 (SMS fee, recorded from the statement)",
        )
    return reconciliation.reconciliation_report(books, imported.statement_id)


# -- the shipped statement, written from the shipped seed's books -----------------------------
def statement_xml(engine: Engine, upto: int | None = None) -> bytes:
    """The camt.053.001.08 statement of `STATEMENT`'s fund and month, from the books up to
    sequence `upto` (all), with the SMS fee line the books lack: how `demo_data/` was written,
    from the shipped seed's books before the fee was recorded."""
    _name, fund, account, month = STATEMENT
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    p, e = postings.c, journal_entries.c
    last_sequence = upto if upto is not None else 2**62
    with engine.connect() as conn:
        opening = sum(
            conn.scalars(
                select(p.amount).where(
                    p.fund == fund,
                    p.account == account,
                    p.occurred_on < first.isoformat(),
                    p.sequence <= last_sequence,
                )
            )
        )
        rows = conn.execute(
            select(p.sequence, p.occurred_on, p.amount, e.kind, e.memo, e.data)
            .join(journal_entries, e.sequence == p.sequence)
            .where(
                p.fund == fund,
                p.account == account,
                p.occurred_on >= first.isoformat(),
                p.occurred_on <= last.isoformat(),
                p.sequence <= last_sequence,
            )
            .order_by(p.occurred_on, p.sequence)
        ).all()
        names = {r.id: r.name for r in conn.execute(select(donors.c.id, donors.c.name))}
        places = {r.code: r.name for r in conn.execute(select(projects.c.code, projects.c.name))}
    lines = []
    for r in rows:
        data = json.loads(r.data or "{}")
        party = names.get(str(data.get("donor_id", "")), "") or places.get(
            str(data.get("project", "")), ""
        )
        if r.kind == "disbursement" and not party:
            party = r.memo.split(" ")[0]
        lines.append((dt.date.fromisoformat(r.occurred_on), r.amount, party, r.memo or "捐赠款"))
    on, fee, text = SMS_FEE
    lines.append((on, -fee, "", text))
    closing = opening + sum(amount for _d, amount, _p, _t in lines)
    return _camt(first, last, opening, closing, lines)


def _amount(minor: int) -> str:
    return format_minor(abs(minor), "CNY")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _camt(
    first: dt.date,
    last: dt.date,
    opening: int,
    closing: int,
    lines: list[tuple[dt.date, int, str, str]],
) -> bytes:
    stamp = f"{(last + dt.timedelta(days=1)).isoformat()}T08:00:00+08:00"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!-- The demo's bank statement (camt.053.001.08): fund LUHUO-PAIR's CNY account, "
        f"{first:%Y-%m}. Written by cli.demo_evidence.statement_xml from the shipped seed's "
        "books; made-up account number. -->",
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">',
        "  <BkToCstmrStmt>",
        f"    <GrpHdr><MsgId>HQ-DEMO-STMT-{first:%Y%m}</MsgId><CreDtTm>{stamp}</CreDtTm></GrpHdr>",
        "    <Stmt>",
        f"      <Id>DEMO-LUHUO-PAIR-{first:%Y-%m}</Id>",
        f"      <ElctrncSeqNb>{first.month}</ElctrncSeqNb>",
        f"      <CreDtTm>{stamp}</CreDtTm>",
        f"      <FrToDt><FrDtTm>{first.isoformat()}T00:00:00+08:00</FrDtTm>"
        f"<ToDtTm>{last.isoformat()}T23:59:59+08:00</ToDtTm></FrToDt>",
        "      <Acct><Id><Othr><Id>6222000000000009999</Id></Othr></Id><Ccy>CNY</Ccy>"
        "<Svcr><FinInstnId><Nm>演示银行成都沙河支行 (demo bank)</Nm></FinInstnId></Svcr></Acct>",
    ]
    for code, amount, day in (("OPBD", opening, first), ("CLBD", closing, last)):
        out.append(
            f'      <Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">'
            f"{_amount(amount)}</Amt><CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>"
            f"<Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>"
        )
    for n, (day, amount, party, text) in enumerate(lines, 1):
        side, role = ("CRDT", "Dbtr") if amount > 0 else ("DBIT", "Cdtr")
        details = (
            f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<RltdPties><{role}><Pty><Nm>{_escape(party)}</Nm></Pty></{role}></RltdPties>"
            f"<RmtInf><Ustrd>{_escape(text)}</Ustrd></RmtInf></TxDtls></NtryDtls>"
            if party
            else f"<AddtlNtryInf>{_escape(text)}</AddtlNtryInf>"
        )
        out.append(
            f'      <Ntry><NtryRef>{n}</NtryRef><Amt Ccy="CNY">{_amount(amount)}</Amt>'
            f"<CdtDbtInd>{side}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{day.isoformat()}</Dt></BookgDt><ValDt><Dt>{day.isoformat()}</Dt>"
            f"</ValDt><AcctSvcrRef>DEMO-{day:%Y%m%d}-{n:04d}</AcctSvcrRef>{details}</Ntry>"
        )
    out += ["    </Stmt>", "  </BkToCstmrStmt>", "</Document>", ""]
    return "\n".join(out).encode("utf-8")


def demo_evidence_step(books: Any, *, seed: int, shipped: bool) -> str:
    """`huiquan demo`'s evidence step on the command's books; the line it prints."""
    from usecases.books import open_books

    ledger_books = open_books(books.engine, books.home, group_commit_max=1)
    done = add_demo_evidence(ledger_books, seed=seed, shipped=shipped, by=Actor("demo", ("admin",)))
    line = (
        f"evidence: {done.records} documents filed ({done.files} files) on {done.payments} "
        f"payments and {done.handovers} handovers of goods; {done.acknowledged} payments "
        "acknowledged by their recipients"
    )
    if done.statement is not None:
        s = done.statement["statement"]
        line += (
            f"; bank statement {s['from_date'][:7]} of {s['fund']} reconciled: "
            f"{len(done.statement['matched'])} lines matched, difference "
            f"{format_minor(done.statement['difference'] or 0, s['currency'])}"
        )
    with books.engine.connect() as conn:
        entries = conn.scalar(select(func.max(journal_entries.c.sequence)))
    return f"{line}; the books now hold {entries} entries"


if __name__ == "__main__":  # pragma: no cover - how demo_data/'s statement was written
    import sys

    from ledger.storage.db import make_engine

    sys.stdout.buffer.write(statement_xml(make_engine(sys.argv[1])))
