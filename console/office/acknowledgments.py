"""A recipient's acknowledgment of a payment (签收), recorded at the console.

The call is `usecases.evidence.acknowledge`, the API's `POST /api/v1/entries/{id}/acknowledgment`:
a disbursement or scholarship payout that was not reversed is marked acknowledged once, on a
date from the payment to today, by its signed document: a file uploaded now (attached as an
`acknowledgment`, judged by its bytes) or one attached to the entry before. The registers and
the transparency page count it from then on (money and counts, never names). Its refusals come
back beside the field they name; a form sent twice records once (its idempotency key).
Officers and admins, as in the API.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.auth import WRITERS, current_actor, login_required
from console.forms import Choice, Field, Form, today
from console.messages import message_for
from console.office import UPLOAD_LIMITS, bp
from console.office.evidence import DOCUMENT_LIMIT, MAX_MIB, posted_upload, standing
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import LedgerError, NotFound
from usecases import evidence, queries

ACKNOWLEDGED_KINDS = {k.value for k in evidence.ACKNOWLEDGED_KINDS}


def _fields(documents: list[Choice]) -> tuple[Field, ...]:
    new_file = ("", str(_l("A new file (choose it below)")))
    return (
        Field("acknowledged_on", _l("Acknowledged on"), "date", required=True, max_length=10),
        Field(
            "attachment_id",
            _l("The signed acknowledgment"),
            "choice",
            choices=[new_file, *documents],
            help=_l("A 签收单 or signed receipt attached to this payment already, or a new file."),
        ),
        Field("note", _l("Note"), "textarea", max_length=limits.DOCUMENT_NOTE),
    )


def _standing_acknowledgments(entry_id: str) -> list[Choice]:
    """The entry's acknowledgment documents that still stand (not superseded, not withdrawn)."""
    return [
        (item.record.id, f"{item.record.file_name} · {item.record.attached_at[:10]}")
        for item in standing(entry_id, "acknowledgment")
    ]


@bp.route("/entries/<entry_id>/acknowledgment", methods=["GET", "POST"])
@login_required(*WRITERS)
def acknowledge_entry(entry_id: str) -> Any:
    """Record that the recipient of a payment acknowledged it, with the signed document."""
    found = queries.entry_file(books(), entry_id[:40])
    if found is None:
        abort(404)
    fields = _fields(_standing_acknowledgments(found.entry.id))
    if request.method == "GET":
        return _page(found, Form.blank(fields, acknowledged_on=today()))
    form = Form.posted(fields, request.form)
    data = form.load()
    upload = posted_upload()
    chosen = data.get("attachment_id") if data else None
    if data is not None and (upload is None) == (not chosen):
        return _page(found, form, 422, file_error=_either(upload, chosen))
    if data is None:
        return _page(found, form, 422)
    key = form.key("acknowledgment")
    try:
        evidence.acknowledge(
            books(),
            found.entry.id,
            acknowledged_on=data["acknowledged_on"],
            attachment_id=chosen or None,
            upload=upload,
            note=data.get("note") or "",
            by=current_actor(),
            audit=audit_facts("acknowledgment", key),
            key=key,
        )
    except NotFound:
        abort(404)
    except LedgerError as err:
        if err.field in ("file", None) and err.code in ("unsupported_file", "file_too_large"):
            return _page(found, form, 422, file_error=message_for(err))
        form.add_error(_field_of(err), _message(err))
        return _page(found, form, 422)
    target = url_for("console_office.entry_evidence", entry_id=found.entry.id, acknowledged=1)
    return redirect(target, 303)


UPLOAD_LIMITS["console_office.acknowledge_entry"] = DOCUMENT_LIMIT


def _either(upload: Any, chosen: Any) -> Any:
    if upload is None:
        return _l("Choose the signed acknowledgment: a new file, or one attached already.")
    return _l("Choose a new file or one attached already, not both.")


def _field_of(err: LedgerError) -> str | None:
    return {"date": "acknowledged_on", "file": "attachment_id"}.get(err.field or "", err.field)


def _message(err: LedgerError) -> Any:
    if err.code == "already_exists":
        return _l("This payment's acknowledgment is recorded already.")
    if err.field == "date":
        return _l("The date is between the payment's date and today.")
    if err.field == "attachment_id":
        return _l("Choose an acknowledgment attached to this payment that still stands.")
    if err.code == "invalid_entry" and not err.field:
        return _l(
            "Only a disbursement or a scholarship payout that was not reversed is acknowledged."
        )
    return message_for(err)


def _page(
    found: queries.EntryFile, form: Form, status: int = 200, **context: Any
) -> tuple[str, int]:
    entry = found.entry
    paid = max(entry.postings, key=lambda p: p.amount)
    return (
        render_template(
            "console/office/acknowledgment.html",
            file=found,
            paid=paid,
            project=next((p.project for p in entry.postings if p.project), ""),
            payable=entry.kind.value in ACKNOWLEDGED_KINDS and not found.reversed_by,
            done=evidence.acknowledgment_status(books(), entry.id),
            form=form,
            max_mib=MAX_MIB,
            **context,
        ),
        status,
    )
