"""Evidence over HTTP: attach, supersede, list and download documents; acknowledgments; handovers.

Uploads are `multipart/form-data` (`file`, `kind`, optional `note`): the views are marked
`accepts_form`, and their body limit is the document limit plus room for the form (set before
the app's request check runs). Whether a file is accepted is decided by its bytes in the use
case (`usecases.evidence`): 415 for a type we do not take, 413 beyond 20 MiB. Downloads are for
officers and auditors only, as attachments, never sniffed by the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request, stream_with_context
from marshmallow import RAISE, Schema, fields, validate

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import LedgerDate, Memo, Text, present_entry
from api.trail import audit_facts
from ledger.errors import LedgerError
from ledger.evidence import KINDS, MAX_BYTES, Attachment
from ledger.money import FUNCTIONAL_CURRENCY, Money, format_minor, parse_minor
from usecases import evidence, handover

blp = Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence.")

#: The body limit of an upload: the document and the rest of the form.
UPLOAD_BODY_LIMIT = MAX_BYTES + 256 * 1024

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "note": {"type": "string", "maxLength": 2000},
                    },
                }
            }
        },
    }
}


def upload_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view as taking a multipart upload (form body, the upload's body limit)."""
    view.accepts_form = True  # type: ignore[attr-defined]
    view.upload = True  # type: ignore[attr-defined]
    return view


@blp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # URL value preprocessors run before the app's `before_request` checks the body's length.
    from flask import current_app

    view = current_app.view_functions.get(endpoint or "")
    if getattr(view, "upload", False):
        request.max_content_length = UPLOAD_BODY_LIMIT


class AttachmentOut(Schema):
    id = fields.String(required=True)
    sequence = fields.Integer(required=True)
    subject_type = fields.String(required=True)
    subject_id = fields.String(required=True)
    kind = fields.String(required=True)
    file_name = fields.String(required=True)
    media_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    note = fields.String(required=True)
    supersedes = fields.String(allow_none=True, required=True)
    superseded_by = fields.String(allow_none=True, required=True)
    reason = fields.String(required=True)
    attached_by = fields.String(required=True)
    attached_at = fields.String(required=True)
    hash = fields.String(required=True, metadata={"description": "the record's chain hash"})
    prev_hash = fields.String(required=True)
    download = fields.String(allow_none=True, required=True)


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentOut), required=True)
    acknowledgment = fields.Dict(allow_none=True, required=True)


class AcknowledgmentOut(Schema):
    entry_id = fields.String(required=True)
    attachment_id = fields.String(required=True)
    acknowledged_on = fields.String(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.String(required=True)


class HandoverIn(Schema):
    quantity = fields.String(required=True, validate=validate.Regexp(handover.QUANTITY_PATTERN))
    recipient = Text(required=True, validate=validate.Length(min=1, max=200))
    handed_over_on = LedgerDate(required=True)
    project = Text(load_default="", validate=validate.Length(max=40))
    value = fields.String(
        load_default=None, allow_none=True, metadata={"description": "CNY, else pro rata"}
    )
    evidence = fields.List(Text(validate=validate.Length(min=1, max=40)), load_default=list)
    memo = Text(load_default="", validate=validate.Length(max=2000))


class HandoverOut(Schema):
    id = fields.String(required=True)
    gift_entry_id = fields.String(required=True)
    quantity = fields.String(required=True)
    value = fields.String(required=True)
    recipient = fields.String(required=True)
    entry = fields.Dict(required=True)


def present(record: Attachment, superseded_by: str | None = None) -> dict[str, Any]:
    body = record.to_dict()
    body["superseded_by"] = superseded_by
    body["download"] = f"/api/v1/evidence/{record.id}" if record.sha256 else None
    return body


class UploadForm(Schema):
    """The text fields of an upload, judged by the same fields (and so the same rule,
    `ledger.text.text_problem`) as JSON bodies: no control characters, bounded lengths. The
    uploaded file's own name is checked as `file_name` (errors are reported under `file`)."""

    class Meta:
        unknown = RAISE

    kind = Text(validate=validate.OneOf(KINDS))
    note = Memo(load_default="", validate=validate.Length(max=2000))
    reason = Memo(validate=validate.Length(min=1, max=2000))
    acknowledged_on = LedgerDate()
    attachment_id = Text(validate=validate.Length(min=1, max=40))
    file_name = Text(load_default="", validate=validate.Length(max=255))


def _upload_form(*required: str) -> dict[str, Any]:
    """The form's fields, loaded by `UploadForm`; a 422 naming every bad or missing field."""
    # A part whose name the multipart parser could not read (a control character in it) comes
    # back nameless: it is an unknown field like any other, reported under "".
    names = {name if isinstance(name, str) else "" for name in request.form}
    unknown = (set(request.files) - {"file"}) | ({"file_name", ""} & names)
    if unknown:
        raise ApiProblem(
            "validation_error",
            "Unknown fields.",
            errors={n: ["unknown field"] for n in sorted(unknown)},
        )
    raw: dict[str, Any] = {k: v for k, v in request.form.items() if isinstance(k, str)}
    file = request.files.get("file")
    if file is not None:
        raw["file_name"] = file.filename or ""
    errors: dict[str, Any] = UploadForm().validate(raw)
    for name in required:
        if not str(raw.get(name, "")).strip():
            errors.setdefault(name, ["required"])
    if errors:
        if "file_name" in errors:
            errors["file"] = errors.pop("file_name")
        raise ApiProblem("validation_error", "Invalid upload fields.", errors=errors)
    return dict(UploadForm().load(raw))


def _upload(form: dict[str, Any], required: bool = True) -> evidence.Upload | None:
    file = request.files.get("file")
    if file is None:
        if required:
            raise ApiProblem(
                "validation_error", "`file` is required.", errors={"file": ["required"]}
            )
        return None
    return evidence.Upload(file.stream, form.get("file_name", ""))


@blp.route("/entries/<entry_id>/evidence", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "unsupported_media_type", "payload_too_large"),
    body=True,
    idempotent=True,
)
@blp.doc(**_UPLOAD_DOC)
@blp.response(201, AttachmentOut)
@upload_view
def attach_evidence(entry_id: str) -> dict[str, Any]:
    """Attach a document (PDF, JPEG, PNG or WebP, at most 20 MiB) to an entry.

    Pledges, in-kind gifts and scholarship payouts take theirs by their entry. The file's type is
    judged by its bytes; the same file twice is stored once. The record is chained.
    """
    form = _upload_form("kind")
    upload = _upload(form)
    assert upload is not None
    record = evidence.attach(
        books(),
        subject_type="entry",
        subject_id=entry_id,
        kind=form["kind"],
        note=form["note"],
        upload=upload,
        by=current_actor(),
        audit=audit_facts(),
        key=idempotency_key("evidence"),
    )
    return present(record)


@blp.route("/approval-requests/<request_id>/evidence", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=(
        "not_found",
        "request_closed",
        "request_expired",
        "unsupported_media_type",
        "payload_too_large",
    ),
    body=True,
    idempotent=True,
)
@blp.doc(**_UPLOAD_DOC)
@blp.response(201, AttachmentOut)
@upload_view
def attach_request_evidence(request_id: str) -> dict[str, Any]:
    """Attach a document to a pending approval request (the invoice or contract the approver
    should see). When the request is approved and posted, its documents are carried to the
    posted entry (records on the entry naming the request's). A decided or expired request
    takes none (409): attach to its entry instead."""
    form = _upload_form("kind")
    upload = _upload(form)
    assert upload is not None
    record = evidence.attach(
        books(),
        subject_type="approval_request",
        subject_id=request_id,
        kind=form["kind"],
        note=form["note"],
        upload=upload,
        by=current_actor(),
        audit=audit_facts(),
        key=idempotency_key("evidence"),
    )
    return present(record)


@blp.route("/approval-requests/<request_id>/evidence", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, AttachmentList)
def list_request_evidence(request_id: str) -> dict[str, Any]:
    """Every attachment record of an approval request (superseded ones too)."""
    return {"items": request_evidence(request_id), "acknowledgment": None}


def request_evidence(request_id: str) -> list[dict[str, Any]]:
    """The attachments of an approval request as the API presents them."""
    listed = evidence.attachments_of(books(), "approval_request", request_id)
    return [present(item.record, item.superseded_by) for item in listed]


@blp.route("/evidence/<attachment_id>/supersede", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "already_exists", "unsupported_media_type", "payload_too_large"),
    body=True,
    idempotent=True,
)
@blp.doc(**_UPLOAD_DOC)
@blp.response(201, AttachmentOut)
@upload_view
def supersede_evidence(attachment_id: str) -> dict[str, Any]:
    """Supersede a wrong attachment: a later record says why (`reason`), with a new `file` or
    none (withdrawn). Nothing is deleted; both records stay."""
    form = _upload_form("reason")
    record = evidence.supersede(
        books(),
        attachment_id,
        reason=form["reason"],
        upload=_upload(form, required=False),
        kind=form.get("kind"),
        note=form["note"],
        by=current_actor(),
        audit=audit_facts(),
        key=idempotency_key("evidence-supersede"),
    )
    return present(record)


@blp.route("/entries/<entry_id>/evidence", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, AttachmentList)
def list_evidence(entry_id: str) -> dict[str, Any]:
    """Every attachment record of an entry (superseded ones too) and its acknowledgment."""
    listed = evidence.attachments_of(books(), "entry", entry_id)
    return {
        "items": [present(item.record, item.superseded_by) for item in listed],
        "acknowledgment": evidence.acknowledgment_status(books(), entry_id),
    }


@blp.route("/evidence/<ref>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, description="The document's bytes, as a download.")
def download_evidence(ref: str) -> Response:
    """Download a document by attachment id or by its SHA-256 (staff only: officers, approvers,
    auditors, admins; never the public)."""
    record, chunks = evidence.open_file(books(), ref)
    response = Response(stream_with_context(chunks), mimetype=record.media_type)
    response.headers["Content-Length"] = str(record.size)
    response.headers["Content-Disposition"] = _disposition(record.file_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["ETag"] = f'"{record.sha256}"'
    return response


def _disposition(name: str) -> str:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@blp.route("/entries/<entry_id>/acknowledgment", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "already_exists", "unsupported_media_type", "payload_too_large"),
    body=True,
    idempotent=True,
)
@blp.response(201, AcknowledgmentOut)
@upload_view
def acknowledge_entry(entry_id: str) -> dict[str, Any]:
    """Mark a disbursement or scholarship payout acknowledged by its recipient.

    Multipart: `acknowledged_on` (YYYY-MM-DD) and either `file` (attached now as an
    `acknowledgment`) or `attachment_id` (an acknowledgment attached to this entry before).
    """
    form = _upload_form("acknowledged_on")
    return evidence.acknowledge(
        books(),
        entry_id,
        acknowledged_on=form["acknowledged_on"],
        attachment_id=form.get("attachment_id"),
        upload=_upload(form, required=False),
        note=form["note"],
        by=current_actor(),
        audit=audit_facts(),
        key=idempotency_key("acknowledgment"),
    )


@blp.route("/in-kind-donations/<gift_id>/handovers", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "overpayment", "unknown_project", "purpose_mismatch", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(HandoverIn())
@blp.response(201, HandoverOut)
def create_handover(data: dict[str, Any], gift_id: str) -> dict[str, Any]:
    """Pass goods received in kind on to a project or recipient, at carrying value.

    Dr 5101 (project) / Cr 1201 inventory or 1501 equipment (restricted funds also release the
    restriction); goods passed through to a donor-named recipient: Dr 2601 / Cr 1701. Never more
    quantity or value than the gift brought (409 `overpayment`, reason `beyond_received`).
    """
    value = data.pop("value")
    if value is not None:
        try:
            value = Money(parse_minor(value, FUNCTIONAL_CURRENCY), FUNCTIONAL_CURRENCY)
        except LedgerError as err:
            raise ApiProblem(
                "validation_error", err.message, errors={"value": [err.message]}
            ) from None
    entry = handover.hand_over(
        books(),
        gift_id,
        by=current_actor(),
        key=idempotency_key("handovers"),
        audit=audit_facts(),
        value=value,
        **data,
    )
    return {
        "id": entry.id,
        "gift_entry_id": gift_id,
        "quantity": data["quantity"],
        "value": format_minor(int(entry.data["cny_minor"]), FUNCTIONAL_CURRENCY),
        "recipient": data["recipient"],
        "entry": present_entry(entry),
    }
