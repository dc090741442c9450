"""Goods received in kind handed over to a project or recipient, at the console.

The call is `usecases.handover.hand_over`, the API's
`POST /api/v1/in-kind-donations/{id}/handovers`: the goods leave the books at carrying value
(a project's expense, releasing a restricted fund's restriction; goods the donor passed
through leave the agency accounts), never more quantity or value than the gift brought, and
the donor's receipt then shows where they went. The documents named with it are the gift's
own (the delivery note, the signed 签收单), ticked here. Its refusals come back beside the
field they name; a form sent twice hands over once (its idempotency key). Officers and
admins, as in the API.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import WRITERS, current_actor, login_required
from console.forms import Choice, Field, Form, today
from console.messages import message_for
from console.office import bp
from console.office.evidence import kind_label, standing
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.entries import EntryKind
from ledger.errors import LedgerError, NotFound
from ledger.money import FUNCTIONAL_CURRENCY
from usecases import evidence, handover, queries

#: A document of the gift, ticked to name it with the handover: `doc-<attachment id>`.
DOC = "doc-"


def _fields(fund: str, documents: list[evidence.Listed]) -> tuple[Field, ...]:
    def projects() -> list[Choice]:
        return [("", "—")] + [
            (p.code, f"{p.name} ({p.code})") for p in reads.projects(books(), fund)
        ]

    return (
        Field(
            "quantity",
            _l("Quantity handed over"),
            required=True,
            max_length=limits.QUANTITY,
            help=_l("A number in the gift's unit, e.g. 4 or 2.5."),
        ),
        Field(
            "recipient",
            _l("Handed over to"),
            required=True,
            max_length=limits.NAME,
            help=_l("An organisation (e.g. 炉霍县人民医院), or a person by pseudonym only."),
        ),
        Field("handed_over_on", _l("Handed over on"), "date", required=True, default=today),
        Field("project", _l("Project"), "choice", choices=projects),
        Field(
            "value",
            _l("Value (CNY)"),
            "amount",
            max_length=limits.AMOUNT,
            help=_l("Leave it empty to value the goods pro rata of the gift's carrying value."),
        ),
        Field("currency", "", "hidden", default=FUNCTIONAL_CURRENCY),
        *(Field(f"{DOC}{d.record.id}", _document_label(d), "checkbox") for d in documents),
        Field("memo", _l("Memo"), "textarea", max_length=limits.MEMO),
    )


def _document_label(listed: evidence.Listed) -> str:
    record = listed.record
    return f"{kind_label(record.kind)} · {record.file_name}"


def _gift_or_404(gift_id: str) -> queries.EntryFile:
    found = queries.entry_file(books(), gift_id[:40])
    if found is None or found.entry.kind != EntryKind.IN_KIND:
        abort(404)
    return found


@bp.route("/in-kind/<gift_id>/handovers", methods=["GET", "POST"])
@login_required(*WRITERS)
def hand_over(gift_id: str) -> Any:
    """Hand (part of) an in-kind gift over to a project or recipient; what was handed before."""
    gift = _gift_or_404(gift_id)
    goods = max(gift.entry.postings, key=lambda p: p.amount)
    documents = standing(gift.entry.id)
    fields = _fields(goods.fund, documents)
    if request.method == "GET":
        return _page(gift, Form.blank(fields))
    form = Form.posted(fields, request.form)
    data = form.load()
    if data is None:
        return _page(gift, form, 422)
    named = [d.record.id for d in documents if data.get(f"{DOC}{d.record.id}")]
    key = form.key("handovers")
    try:
        entry = handover.hand_over(
            books(),
            gift.entry.id,
            by=current_actor(),
            key=key,
            audit=audit_facts("handovers", key),
            quantity=data["quantity"],
            recipient=data["recipient"],
            handed_over_on=data["handed_over_on"],
            project=data.get("project") or "",
            value=data.get("value"),
            evidence=named,
            memo=data.get("memo") or "",
        )
    except NotFound:
        abort(404)
    except LedgerError as err:
        form.add_error(err.field if err.field != "gift" else None, _message(err))
        return _page(gift, form, 422)
    return redirect(
        url_for("console_office.hand_over", gift_id=gift.entry.id, handed=entry.id), 303
    )


def _page(gift: queries.EntryFile, form: Form, status: int = 200) -> tuple[str, int]:
    goods = max(gift.entry.postings, key=lambda p: p.amount)
    done = handover.handovers_of(books(), gift.entry.id)
    handed = request.args.get("handed", "") if request.method == "GET" else ""
    return (
        render_template(
            "console/office/handover.html",
            gift=gift,
            goods=goods,
            done=done,
            just=next((h for h in done if h["entry_id"] == handed), None),
            form=form,
            documents=[f for f in form.fields if f.name.startswith(DOC)],
            plain=[f for f in form.fields if not f.name.startswith(DOC)],
        ),
        status,
    )


def _message(err: LedgerError) -> Any:
    if err.code == "beyond_received":
        return _l("This is more than the gift brought, less what was handed over before.")
    if err.field == "quantity" and err.code == "invalid_entry":
        return _l("Enter the quantity as a number more than zero, such as 4 or 2.5.")
    if err.field == "value" and err.code == "invalid_entry":
        return _l("The gift's quantity is not a number: give the value handed over.")
    if err.field == "recipient":
        return _l("Name the recipient in 1 to %(most)s characters.", most=limits.NAME)
    if err.field == "gift":
        return _l("This gift was reversed: nothing of it is handed over.")
    if err.field == "evidence":
        return _l("Name only documents attached to this gift.")
    if err.field == "handed_over_on" and err.code == "invalid_entry":
        return _l("Equipment is handed over no earlier than the last month it was depreciated.")
    return message_for(err)
