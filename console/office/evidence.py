"""Evidence at the console: an entry's documents listed, one uploaded, a wrong one superseded,
each downloaded.

`usecases.evidence` judges an upload by its bytes (PDF, JPEG, PNG or WebP; at most 20 MiB),
stores it once per content and chains its record; here a refusal is shown beside the file
field. A wrong document is superseded (`evidence.supersede`, the API's `POST
/api/v1/evidence/{id}/supersede`) by a later record that says why, with a replacement file or
none (withdrawn): nothing is deleted, and a document is superseded at most once. Downloads are
for staff (officers, approvers, auditors, admins), as attachments that the browser never
sniffs, exactly as the API serves them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, abort, redirect, render_template, request, stream_with_context, url_for
from flask_babel import lazy_gettext as _l

from console.approvals import OPERATIONS, STATES
from console.auth import READERS, WRITERS, current_actor, current_user, login_required
from console.forms import Field, Form
from console.messages import message_for
from console.office import UPLOAD_LIMITS, bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import AlreadyExists, LedgerError, NotFound
from ledger.evidence import KINDS, MAX_BYTES
from usecases import approvals, evidence, queries

STAFF = (*READERS, "approver")
#: The body limit of a form that uploads a document: the largest file and the other fields.
DOCUMENT_LIMIT = MAX_BYTES + 256 * 1024
#: The largest file, as the forms state it (MiB).
MAX_MIB = MAX_BYTES // (1024 * 1024)

KIND_LABELS = {
    "invoice": _l("Invoice"),
    "contract": _l("Contract"),
    "acknowledgment": _l("Acknowledgment of receipt"),
    "photo": _l("Photo"),
    "bank_slip": _l("Bank slip"),
    "other": _l("Other"),
}


def _kinds() -> list[tuple[str, str]]:
    return [(k, str(KIND_LABELS.get(k, k))) for k in KINDS]


FIELDS = (
    Field("kind", _l("Kind of document"), "choice", required=True, choices=_kinds),
    Field("note", _l("Note"), "textarea", max_length=limits.DOCUMENT_NOTE),
)


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


bp.add_app_template_global(kind_label, "evidence_kind")


def posted_upload() -> evidence.Upload | None:
    """The form's `file` as the use cases take it, or None when no file was chosen."""
    file = request.files.get("file")
    return evidence.Upload(file.stream, file.filename) if file and file.filename else None


def standing(entry_id: str, kind: str = "") -> list[evidence.Listed]:
    """The entry's documents (of `kind`, when given) that still stand: neither superseded nor
    withdrawn."""
    return [
        item
        for item in evidence.attachments_of(books(), "entry", entry_id)
        if item.record.sha256 and not item.superseded_by and kind in ("", item.record.kind)
    ]


def _page(entry_id: str, form: Form, status: int = 200, **context: Any) -> tuple[str, int]:
    found = queries.entry_file(books(), entry_id[:40])
    if found is None:
        abort(404)
    listed = evidence.attachments_of(books(), "entry", found.entry.id)
    acknowledgeable = found.entry.kind.value in {k.value for k in evidence.ACKNOWLEDGED_KINDS}
    return (
        render_template(
            "console/office/evidence.html",
            file=found,
            listed=listed,
            form=form,
            max_mib=MAX_MIB,
            acknowledgeable=acknowledgeable and not found.reversed_by,
            acknowledgment=evidence.acknowledgment_status(books(), found.entry.id),
            acknowledged=request.args.get("acknowledged") == "1",
            superseded=request.args.get("superseded") == "1",
            **context,
        ),
        status,
    )


@bp.get("/entries/<entry_id>/evidence")
@login_required(*STAFF)
def entry_evidence(entry_id: str) -> tuple[str, int]:
    """An entry's documents, superseded ones too, and (for officers) the upload form."""
    return _page(entry_id, Form.blank(FIELDS))


@bp.post("/entries/<entry_id>/evidence")
@login_required(*WRITERS)
def attach_evidence(entry_id: str) -> tuple[str, int]:
    """Attach one document to the entry."""
    form = Form.posted(FIELDS, request.form)
    data = form.load()
    upload = posted_upload()
    if upload is None:
        return _page(entry_id, form, 422, file_error=_l("Choose a file to upload."))
    if data is None:
        return _page(entry_id, form, 422)
    key = form.key("evidence")
    try:
        record = evidence.attach(
            books(),
            subject_type="entry",
            subject_id=entry_id[:40],
            kind=data["kind"],
            note=data.get("note") or "",
            upload=upload,
            by=current_actor(),
            audit=audit_facts("evidence", key),
            key=key,
        )
    except NotFound:
        abort(404)
    except LedgerError as err:
        if err.field in ("kind", "note"):
            form.refused(err)
            return _page(entry_id, form, 422)
        return _page(entry_id, form, 422, file_error=message_for(err))
    return _page(entry_id, Form.blank(FIELDS), 201, attached=record)


UPLOAD_LIMITS["console_office.attach_evidence"] = DOCUMENT_LIMIT


# -- an approval request's documents -------------------------------------------------------------
def _request_page(
    request_id: str, form: Form, status: int = 200, **context: Any
) -> tuple[str, int]:
    try:
        found = approvals.get_request(books(), request_id[:40])
    except NotFound:
        abort(404)
    user = current_user()
    assert user is not None
    return (
        render_template(
            "console/office/approval_request.html",
            r=found,
            listed=evidence.attachments_of(books(), "approval_request", found.id),
            operations=OPERATIONS,
            states=STATES,
            may_attach=found.state == "pending" and user.id == found.maker_user_id,
            form=form,
            max_mib=MAX_MIB,
            **context,
        ),
        status,
    )


@bp.get("/approvals/<request_id>")
@login_required(*STAFF)
def approval_request(request_id: str) -> tuple[str, int]:
    """One approval request, its documents for the checker, and (for its maker, while it
    waits) the upload form."""
    return _request_page(request_id, Form.blank(FIELDS))


@bp.post("/approvals/<request_id>/documents")
@login_required(*STAFF)
def attach_request_evidence(request_id: str) -> tuple[str, int]:
    """The maker attaches one document to their pending request (carried to the entry once
    the request is approved and posted)."""
    try:
        found = approvals.get_request(books(), request_id[:40])
    except NotFound:
        abort(404)
    user = current_user()
    if user is None or user.id != found.maker_user_id:
        abort(403)
    form = Form.posted(FIELDS, request.form)
    data = form.load()
    upload = posted_upload()
    if upload is None:
        return _request_page(found.id, form, 422, file_error=_l("Choose a file to upload."))
    if data is None:
        return _request_page(found.id, form, 422)
    key = form.key("request-evidence")
    try:
        record = evidence.attach(
            books(),
            subject_type="approval_request",
            subject_id=found.id,
            kind=data["kind"],
            note=data.get("note") or "",
            upload=upload,
            by=current_actor(),
            audit=audit_facts("evidence", key),
            key=key,
        )
    except LedgerError as err:
        if err.field in ("kind", "note"):
            form.refused(err)
            return _request_page(found.id, form, 422)
        return _request_page(found.id, form, 422, file_error=message_for(err))
    return _request_page(found.id, Form.blank(FIELDS), 201, attached=record)


UPLOAD_LIMITS["console_office.attach_request_evidence"] = DOCUMENT_LIMIT


# -- superseding a wrong document ----------------------------------------------------------------
def _same_kind() -> list[tuple[str, str]]:
    return [("", str(_l("The same kind"))), *_kinds()]


SUPERSEDE_FIELDS = (
    Field(
        "reason",
        _l("Why it is wrong"),
        "textarea",
        required=True,
        max_length=limits.DOCUMENT_NOTE,
    ),
    Field("kind", _l("Kind of the new document"), "choice", choices=_same_kind),
    Field("note", _l("Note on the new document"), "textarea", max_length=limits.DOCUMENT_NOTE),
)


def _subject_page(record: Any, **args: Any) -> str:
    if record.subject_type == "approval_request":
        return url_for("console_office.approval_request", request_id=record.subject_id)
    return url_for("console_office.entry_evidence", entry_id=record.subject_id, **args)


def _supersede_page(
    listed: evidence.Listed, form: Form, status: int = 200, **context: Any
) -> tuple[str, int]:
    return (
        render_template(
            "console/office/supersede.html",
            item=listed,
            back=_subject_page(listed.record),
            form=form,
            max_mib=MAX_MIB,
            **context,
        ),
        status,
    )


def _listed_or_404(attachment_id: str) -> evidence.Listed:
    found = evidence.attachment(books(), attachment_id[:64])
    if found is None:
        abort(404)
    return found


@bp.route("/evidence/<attachment_id>/supersede", methods=["GET", "POST"])
@login_required(*WRITERS)
def supersede_evidence(attachment_id: str) -> Any:
    """Supersede a wrong document: a later record says why, with a new file or none."""
    listed = _listed_or_404(attachment_id)
    if request.method == "GET":
        return _supersede_page(listed, Form.blank(SUPERSEDE_FIELDS))
    form = Form.posted(SUPERSEDE_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _supersede_page(listed, form, 422)
    key = form.key("evidence-supersede")
    try:
        evidence.supersede(
            books(),
            listed.record.id,
            reason=data["reason"],
            upload=posted_upload(),
            kind=data.get("kind") or None,
            note=data.get("note") or "",
            by=current_actor(),
            audit=audit_facts("evidence-supersede", key),
            key=key,
        )
    except NotFound:
        abort(404)
    except AlreadyExists:
        form.add_error(None, _l("This document was superseded already."))
        return _supersede_page(_listed_or_404(attachment_id), form, 422)
    except LedgerError as err:
        if err.field in ("reason", "kind", "note"):
            form.refused(err)
            return _supersede_page(listed, form, 422)
        return _supersede_page(listed, form, 422, file_error=message_for(err))
    return redirect(_subject_page(listed.record, superseded=1), 303)


UPLOAD_LIMITS["console_office.supersede_evidence"] = DOCUMENT_LIMIT


@bp.get("/evidence/<attachment_id>")
@login_required(*STAFF)
def download_evidence(attachment_id: str) -> Response:
    """The document's bytes, as a download (never shown inline, never sniffed)."""
    try:
        record, chunks = evidence.open_file(books(), attachment_id[:64])
    except NotFound:
        abort(404)
    response = Response(stream_with_context(chunks), mimetype=record.media_type)
    ascii_name = record.file_name.encode("ascii", "replace").decode().replace("?", "_")
    response.headers["Content-Length"] = str(record.size)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(record.file_name)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
