"""Receipts at the console: find one by serial (or list by donor and date), open its record,
show or re-issue the donor's link, void and replace it, open its PDF, record the fiscal
platform's 票据代码 / 号码, and issue a donor's annual receipt.

The calls are `usecases.receipts`' (`current_link`, `relink_receipt`, `void_and_replace`,
`record_fiscal_reference`, `issue_annual_receipt`), the API's too; the PDF is the donor's own
(`/r/<token>.pdf`, served and cached by the receipt pages), reached by a POST that makes sure
the receipt has a live link. Officers and admins act, as in the API; auditors read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
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
from ledger.text import digits
from receipts.fiscal import fiscal_reference_of
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

FISCAL_FIELDS = (
    Field(
        "code",
        _l("Fiscal receipt code (票据代码)"),
        required=True,
        max_length=60,
        help=_l("As the fiscal platform issued it: digits, letters or '-'."),
    ),
    Field("number", _l("Fiscal receipt number (票据号码)"), required=True, max_length=60),
)
ANNUAL_FIELDS = (
    Field(
        "year",
        _l("Year"),
        required=True,
        max_length=4,
        default=lambda: str(dt.date.today().year - 1),
        help=_l("One receipt per issuer, listing the donor's receipted gifts of that year."),
    ),
)
REFUSED = {
    "code": _l("Write it as the platform did: 1 to 60 digits, letters or '-'."),
    "number": _l("Write it as the platform did: 1 to 60 digits, letters or '-'."),
}


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
        record, fiscal = read(
            books(),
            lambda repo: (
                receipt_cases.receipt_record(repo.conn, serial),
                fiscal_reference_of(repo.conn, serial),
            ),
        )
    except NotFound:
        abort(404)
    if fiscal is not None and not record.fiscal_code:  # recorded after the fact (appended)
        record = replace(record, fiscal_code=fiscal.code, fiscal_number=fiscal.number)
    return record


def _page(
    record: ReceiptRecord, status: int = 200, form: Form | None = None, **context: Any
) -> tuple[str, int]:
    return (
        render_template(
            "console/office/receipt.html",
            record=record,
            void_form=form or Form.blank(VOID_FIELDS),
            fiscal_form=context.pop("fiscal_form", None) or Form.blank(FISCAL_FIELDS),
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


@bp.post("/receipts/<serial>/fiscal-reference")
@login_required(*WRITERS)
def receipt_fiscal(serial: str) -> Any:
    """Record the 公益事业捐赠票据 the fiscal platform issued for this receipt (once)."""
    record = _record(serial)
    form = Form.posted(FISCAL_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _page(record, 422, fiscal_form=form)
    try:
        receipt_cases.record_fiscal_reference(
            books(),
            record.serial,
            code=data["code"],
            number=data["number"],
            by=current_actor(),
            audit=audit_facts("receipt-fiscal-reference"),
        )
    except LedgerError as err:
        form.add_error(err.field, REFUSED.get(err.field or "") or _fiscal_message(err))
        return _page(record, 422, fiscal_form=form)
    return redirect(url_for("console_office.receipt", serial=record.serial, fiscal=1), 303)


def _fiscal_message(err: LedgerError) -> Any:
    if err.code == "already_exists":
        return _l("This receipt has its fiscal reference already.")
    if err.code == "invalid_entry":
        return _l("A void receipt or an annual receipt takes no fiscal reference.")
    return message_for(err)


@bp.post("/donors/<donor_id>/annual-receipts")
@login_required(*WRITERS)
def annual_receipt(donor_id: str) -> Any:
    """Issue the donor's annual receipts for a year (one per issuer); sent twice, issued once."""
    from console import reads

    found = reads.donor_file(books(), donor_id[:40])
    if found is None:
        abort(404)
    form = Form.posted(ANNUAL_FIELDS, request.form)
    data = form.load()
    year = data["year"] if data else ""
    if data is not None and not (digits(year) and "1900" <= year <= "2999"):
        form.add_error("year", _l("Enter a year between 1900 and 2999."))
    if data is not None and form.ok:
        key = form.key("annual-receipts")
        try:
            annual = receipt_cases.issue_annual_receipt(
                books(),
                found.donor.id,
                int(year),
                by=current_actor(),
                key=key,
                audit=audit_facts("annual-receipts", key),
            )
        except LedgerError as err:
            form.add_error("year", _annual_message(err, year))
        else:
            serials = ",".join(a.link.serial for a in (annual, *annual.others))
            target = url_for("console.donor", donor_id=found.donor.id, annual=serials)
            return redirect(target, 303)
    return render_template("console/donor.html", file=found, annual_form=form), 422


def _annual_message(err: LedgerError, year: str) -> Any:
    if err.code == "not_found":
        return _l("The donor has no receipted gift in %(year)s.", year=year)
    if err.code == "already_exists":
        return _l(
            "Live annual receipts cover %(year)s already; void them first to reissue.", year=year
        )
    return message_for(err)
