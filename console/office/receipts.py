"""Receipts at the console: find one by serial (or list by donor and date), open its record,
show or re-issue the donor's link, void and replace it, open its PDF.

The calls are `usecases.receipts`' (`current_link`, `relink_receipt`, `void_and_replace`); the
PDF is the donor's own (`/r/<token>.pdf`, served and cached by the receipt pages), reached by
a POST that makes sure the receipt has a live link.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from console.auth import READERS, WRITERS, current_actor, login_required
from console.forms import Field, Form
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import LedgerError, NotFound
from receipts.issuing import ReceiptRecord
from usecases import receipts as receipt_cases
from usecases.unit import read

SERIAL = re.compile(r"^[A-Z]{1,10}-[0-9]{4}-[0-9]{6}$")

VOID_FIELDS = (
    Field(
        "reason",
        _l("Why the receipt is wrong"),
        "textarea",
        required=True,
        max_length=limits.REJECT_REASON,
    ),
    Field("replace", _l("Issue a replacement receipt"), "checkbox", default="on"),
)


KIND_LABELS = {
    "cash": _l("Gift of money"),
    "foreign": _l("Gift in a foreign currency"),
    "pledge_payment": _l("Pledge payment"),
    "in_kind": _l("In-kind gift"),
    "annual": _l("Annual receipt"),
}


def receipt_kind(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


bp.add_app_template_global(receipt_kind, "receipt_kind")


def _base() -> str:
    return (books().receipts.base_url or request.host_url).rstrip("/")


def _record(serial: str) -> ReceiptRecord:
    if not SERIAL.match(serial):
        abort(404)
    try:
        return read(books(), lambda repo: receipt_cases.receipt_record(repo.conn, serial))
    except NotFound:
        abort(404)


def _page(
    record: ReceiptRecord, status: int = 200, form: Form | None = None, **context: Any
) -> tuple[str, int]:
    return (
        render_template(
            "console/office/receipt.html",
            record=record,
            void_form=form or Form.blank(VOID_FIELDS),
            **context,
        ),
        status,
    )


@bp.get("/receipts")
@login_required(*READERS)
def find_receipt() -> Any:
    """Open a receipt by its serial; a part of one, or none, lists them (by donor and date)."""
    serial = request.args.get("serial", "").strip().upper()[:40]
    if SERIAL.match(serial):
        return redirect(url_for("console_office.receipt", serial=serial))
    args = {k: v for k, v in request.args.items() if k in ("donor_id", "from", "to", "status")}
    if serial:
        args["serial"] = serial
    if args or "serial" in request.args:
        return redirect(url_for("console_lists.receipts", **args))
    return render_template("console/office/find_receipt.html")


@bp.get("/receipts/<serial>")
@login_required(*READERS)
def receipt(serial: str) -> tuple[str, int]:
    """A receipt's record and what an officer can do with it."""
    return _page(_record(serial))


@bp.post("/receipts/<serial>/link")
@login_required(*WRITERS)
def receipt_link(serial: str) -> tuple[str, int]:
    """Show the donor's live link (to copy and send again)."""
    record = _record(serial)
    link = receipt_cases.current_link(books(), record.serial, audit=audit_facts("receipt-link"))
    return _page(record, link=link.urls(_base()))


@bp.post("/receipts/<serial>/relink")
@login_required(*WRITERS)
def receipt_relink(serial: str) -> tuple[str, int]:
    """Revoke every link of the receipt and issue a new one (a leaked or lost link)."""
    record = _record(serial)
    link = receipt_cases.relink_receipt(books(), record.serial, audit=audit_facts("receipt-relink"))
    return _page(record, link=link.urls(_base()), relinked=True)


@bp.post("/receipts/<serial>/pdf")
@login_required(*WRITERS)
def receipt_pdf(serial: str) -> Response:
    """The receipt's PDF, as the donor gets it."""
    record = _record(serial)
    link = receipt_cases.current_link(books(), record.serial, audit=audit_facts("receipt-pdf"))
    return redirect(link.urls("")["pdf_url"], 303)


@bp.post("/receipts/<serial>/void")
@login_required(*WRITERS)
def receipt_void(serial: str) -> tuple[str, int]:
    """Void the receipt (kept, marked void with the reason) and, if asked, issue its replacement."""
    record = _record(serial)
    form = Form.posted(VOID_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _page(record, 422, form)
    key = form.key("receipt-void")
    try:
        voided = receipt_cases.void_and_replace(
            books(),
            record.serial,
            reason=data["reason"],
            replace=bool(data["replace"]),
            by=current_actor(),
            key=key,
            audit=audit_facts("receipt-void", key),
        )
    except LedgerError as err:
        form.add_error(err.field if err.field == "replace" else "reason", message_for(err))
        return _page(record, 422, form)
    replacement = voided.replacement.urls(_base()) if voided.replacement else None
    return _page(_record(serial), voided=True, replacement=replacement)
