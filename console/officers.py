"""Officers' forms: each calls the very use case the API calls, and shows what it recorded.

A view loads the form (`console.forms`), makes one use-case call with the signed-in person as
the actor, the form's idempotency key and the request's audit facts, and presents the result;
a refusal goes back beside the field it names, with everything as typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import ADMIN, WRITERS, current_actor, login_required
from console.forms import Choice, Field, Form, currencies, today
from console.i18n import day, money
from console.pages import bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.entries import FunctionalClass, PostedEntry
from ledger.errors import InvalidAmount, LedgerError
from ledger.model import LANGUAGES, DonorKind
from ledger.money import FUNCTIONAL_CURRENCY
from usecases import campaigns, corrections, gifts, pledges, reference, scholarships, spending
from usecases.gate import ApprovalRequest
from usecases.receipts import ReceiptLink

__all__ = ["FORMS", "FormSpec", "Link", "install_form"]


def _funds() -> list[Choice]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books()) if f.is_open]


def _projects() -> list[Choice]:
    fund = request.values.get("fund") or ""
    return [("", "—")] + [
        (p.code, f"{p.name} ({p.code})") for p in reads.projects(books(), fund or None)
    ]


def _campaigns() -> list[Choice]:
    return [("", "—")] + [
        (c.slug, f"{c.title_zh} ({c.slug})") for c in campaigns.list_campaigns(books(), public=True)
    ]


def _methods() -> list[Choice]:
    return [
        ("bank", str(_l("Bank transfer"))),
        ("cash", str(_l("Cash"))),
        ("online", str(_l("Online"))),
    ]


def _kinds() -> list[Choice]:
    labels = {"person": _l("Person"), "organisation": _l("Organisation")}
    return [(k.value, str(labels[k.value])) for k in DonorKind]


def _donor_languages() -> list[Choice]:
    labels = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
    return [(code, labels.get(code, code)) for code in LANGUAGES]


def _classes() -> list[Choice]:
    labels = {
        "program": _l("Programme"),
        "management": _l("Management"),
        "fundraising": _l("Fundraising"),
    }
    return [(c.value, str(labels[c.value])) for c in FunctionalClass]


def _assets() -> list[Choice]:
    return [("inventory", str(_l("Goods (inventory)"))), ("equipment", str(_l("Equipment")))]


def _cny() -> list[Choice]:
    return [(FUNCTIONAL_CURRENCY, FUNCTIONAL_CURRENCY)]


DONOR = Field(
    "donor_id",
    _l("Donor"),
    required=True,
    max_length=limits.REF,
    help=_l("The donor's id, e.g. D-…; find it under Donors."),
)
FUND = Field("fund", _l("Fund"), "choice", required=True, choices=_funds)
AMOUNT = Field("amount", _l("Amount"), "amount", required=True, max_length=limits.AMOUNT)
CURRENCY = Field(
    "currency", _l("Currency"), "choice", required=True, choices=currencies, default="CNY"
)
CNY_ONLY = Field("currency", _l("Currency"), "choice", required=True, choices=_cny, default="CNY")
MEMO = Field("memo", _l("Memo"), "textarea", max_length=limits.MEMO)


def _day(name: str, label: Any, required: bool = True) -> Field:
    return Field(name, label, "date", required=required, default=today if required else "")


@dataclass(frozen=True)
class FormSpec:
    """A form page: its fields, who may use it, the use case it calls and how to show the result."""

    name: str
    path: str
    title: Any
    intro: Any
    fields: Sequence[Field]
    call: Callable[[dict[str, Any], Form], Any]
    present: Callable[[Any, dict[str, Any]], list[tuple[Any, Any]]]
    roles: Sequence[str] = WRITERS
    aside: Callable[[], dict[str, Any]] | None = None
    aliases: dict[str, str] = field(default_factory=dict)


def _audited(form: Form, scope: str) -> dict[str, Any]:
    key = form.key(scope)
    return {"by": current_actor(), "key": key, "audit": audit_facts(scope, key)}


def _money_of(data: dict[str, Any], name: str = "amount") -> str:
    value = data[name]
    return money(value.minor, value.currency)


def _entry_rows(entry: PostedEntry | None) -> list[tuple[Any, Any]]:
    if entry is None:
        return []
    return [(_l("Entry"), f"#{entry.sequence} · {entry.id}")]


def _receipt_rows(receipt: Any) -> list[tuple[Any, Any]]:
    if receipt is None:
        return []
    if isinstance(receipt, ReceiptLink):
        base = books().receipts.base_url or request.host_url.rstrip("/")
        urls = receipt.urls(base.rstrip("/"))
    else:
        urls = dict(receipt)
    return [(_l("Receipt serial"), urls["serial"]), (_l("Donor's receipt link"), Link(urls["url"]))]


@dataclass(frozen=True)
class Link:
    """A value shown as a link on the result page."""

    url: str
    text: str | None = None


def _no_currency(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "currency"}


# -- the calls ---------------------------------------------------------------------------------
def _donor(data: dict[str, Any], form: Form) -> Any:
    audited = _audited(form, "donors")
    del audited["by"]
    return reference.register_donor(books(), **audited, **data)


def _gift(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    for name in ("pledge_id", "fx_rate", "fx_source", "fx_date", "campaign"):
        details[name] = details.get(name) or None
    details["memo"] = details.get("memo") or ""
    return gifts.record_donation(books(), **_audited(form, "donations"), **details)


def _in_kind(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    details["pass_through_to"] = details.get("pass_through_to") or None
    details["evidence"] = details.get("evidence") or ""
    details["memo"] = details.get("memo") or ""
    return gifts.record_in_kind(books(), **_audited(form, "in-kind-donations"), **details)


def _pledge(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    details["memo"] = details.get("memo") or ""
    return pledges.record_pledge(books(), **_audited(form, "pledges"), **details)


_PAYEE_FIELDS = ("payee_kind", "payee_name", "payee_registration_number", "payee_pseudonym")


def _disbursement(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    details["memo"] = details.get("memo") or ""
    kind, name, number, pseudonym = (details.pop(f, None) or "" for f in _PAYEE_FIELDS)
    if kind == "organisation":
        details["payee"] = {"kind": kind, "name": name, "registration_number": number}
    elif kind == "person":  # by pseudonym only: a name typed here is never sent
        details["payee"] = {"kind": kind, "pseudonym": pseudonym}
    details["bank_reference"] = details.get("bank_reference") or ""
    details["over_budget_reason"] = details.get("over_budget_reason") or ""
    return spending.record_disbursement(books(), **_audited(form, "disbursements"), **details)


def _payee_kinds() -> list[Choice]:
    return [
        ("", "—"),
        ("organisation", str(_l("Organisation"))),
        ("person", str(_l("Person (by pseudonym)"))),
    ]


def _award(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    details["project"] = details.get("project") or ""
    return scholarships.award_scholarship(books(), **_audited(form, "awards"), **details)


def _payout(data: dict[str, Any], form: Form) -> Any:
    try:
        return scholarships.pay_scholarship(
            books(), **_audited(form, "payouts"), currency=None, **data
        )
    except InvalidAmount as err:
        err.field = err.field or "amount"
        raise


def _fee(data: dict[str, Any], form: Form) -> Any:
    details = _no_currency(data)
    details["memo"] = details.get("memo") or ""
    return spending.record_fee(books(), **_audited(form, "fees"), **details)


def _transfer(data: dict[str, Any], form: Form) -> Any:
    return spending.transfer_between_funds(
        books(), **_audited(form, "transfers"), **_no_currency(data)
    )


def _reversal(data: dict[str, Any], form: Form) -> Any:
    return corrections.reverse_entry(books(), **_audited(form, "reversals"), **data)


def _close(data: dict[str, Any], form: Form) -> Any:
    return reference.close_period(books(), data["period"], **_audited(form, "periods"))


# -- what each shows once recorded ------------------------------------------------------------
def _show_donor(donor: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Donor"), donor.name),
        (_l("Donor id"), Link(url_for("console.donor", donor_id=donor.id), donor.id)),
    ]


def _show_gift(gift: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    rows = [(_l("Amount"), _money_of(data)), *_entry_rows(gift.entry), *_receipt_rows(gift.receipt)]
    match = getattr(gift, "match", None)
    if match is not None:
        value = sum(p.functional for p in match.entry.postings if p.functional > 0)
        rows += [(_l("Matched by the campaign's matcher"), money(value, FUNCTIONAL_CURRENCY))]
        rows += _entry_rows(match.entry) + _receipt_rows(match.receipt)
    return rows


def _show_in_kind(gift: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Fair value"), _money_of(data, "fair_value")),
        *_entry_rows(gift.entry),
        *_receipt_rows(gift.receipt),
    ]


def _show_pledge(recorded: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Pledge"), recorded.pledge.id),
        (_l("Amount"), _money_of(data)),
        *_entry_rows(recorded.entry),
    ]


def _show_entry(entry: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    rows = (
        [(_l("Amount"), _money_of(data))]
        if "amount" in data and hasattr(data["amount"], "minor")
        else []
    )
    return rows + _entry_rows(entry)


def _show_award(recorded: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Award"), recorded.award.id),
        (_l("Amount"), _money_of(data)),
        *_entry_rows(recorded.entry),
    ]


def _show_payout(recorded: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    amount = recorded.amount
    return [
        (_l("Award"), recorded.award.id),
        (_l("Amount"), money(amount.minor, amount.currency)),
        *_entry_rows(recorded.entry),
    ]


def _show_reversal(entry: Any, data: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(_l("Reversed entry"), data["entry_id"]), *_entry_rows(entry)]


def _show_period(record: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [(_l("Period closed"), record["period"])]


# -- what a disbursement shows before it is sent ----------------------------------------------
def _disbursement_aside() -> dict[str, Any]:
    fund = request.values.get("fund") or ""
    page = reads.fund_page(books(), fund) if fund else None
    return {"fund_page": page}


def _open_pledges() -> list[Choice]:
    found = []
    for f in reads.funds(books()):
        for p in reads.open_pledges(books(), f.code):
            label = f"{p.id} · {p.donor_id} · {money(p.outstanding_minor, p.currency)}"
            found.append((p.id, label))
    return found


GIFT_FIELDS = (
    DONOR,
    FUND,
    AMOUNT,
    CURRENCY,
    _day("received_on", _l("Received on")),
    Field("method", _l("Method"), "choice", required=True, choices=_methods, default="bank"),
    Field(
        "fx_rate",
        _l("Exchange rate (CNY per unit)"),
        max_length=limits.FX_RATE,
        help=_l("Only for a foreign currency, e.g. 0.9215."),
    ),
    Field("fx_source", _l("Source of the rate"), max_length=limits.FX_SOURCE),
    _day("fx_date", _l("Date of the rate"), required=False),
    Field(
        "campaign",
        _l("Campaign"),
        "choice",
        choices=lambda: _campaigns(),
        help=_l("If the gift is for a campaign: it is tagged in the books, and matched."),
    ),
    MEMO,
)

FORMS: list[FormSpec] = [
    FormSpec(
        "donor_new",
        "/console/donors/new",
        _l("New donor"),
        _l("Register a person or organisation who gives."),
        (
            Field("name", _l("Name"), required=True, max_length=limits.NAME, autocomplete="name"),
            Field("kind", _l("Kind"), "choice", required=True, choices=_kinds, default="person"),
            Field(
                "language",
                _l("Receipt language"),
                "choice",
                required=True,
                choices=_donor_languages,
                default="zh-Hans",
            ),
            Field("anonymous", _l("Anonymous in public"), "checkbox"),
            Field("region", _l("Region"), max_length=limits.REGION),
        ),
        _donor,
        _show_donor,
    ),
    FormSpec(
        "gift",
        "/console/gifts/new",
        _l("Record a gift"),
        _l("A cash, bank or online gift, in any currency; its receipt is issued at once."),
        GIFT_FIELDS,
        _gift,
        _show_gift,
    ),
    FormSpec(
        "pledge_payment",
        "/console/pledge-payments/new",
        _l("Record a pledge payment"),
        _l("Money received against a pledge; never more than is still owed."),
        (
            Field("pledge_id", _l("Pledge"), "choice", required=True, choices=_open_pledges),
            *GIFT_FIELDS,
        ),
        _gift,
        _show_gift,
    ),
    FormSpec(
        "in_kind",
        "/console/in-kind/new",
        _l("Record an in-kind gift"),
        _l("Goods received, at fair value in CNY, with the valuation basis and its evidence."),
        (
            DONOR,
            FUND,
            Field(
                "description", _l("Description"), "textarea", required=True, max_length=limits.MEMO
            ),
            Field("quantity", _l("Quantity"), required=True, max_length=limits.QUANTITY),
            Field(
                "fair_value", _l("Fair value"), "amount", required=True, max_length=limits.AMOUNT
            ),
            CNY_ONLY,
            Field(
                "valuation_basis",
                _l("Valuation basis"),
                required=True,
                max_length=limits.VALUATION_BASIS,
                help=_l("Invoice, customs value, appraisal…"),
            ),
            _day("received_on", _l("Received on")),
            Field(
                "asset",
                _l("Kind of asset"),
                "choice",
                required=True,
                choices=_assets,
                default="inventory",
            ),
            Field("evidence", _l("Evidence"), max_length=limits.EVIDENCE),
            Field(
                "pass_through_to", _l("Passed on to (named by the donor)"), max_length=limits.NAME
            ),
            MEMO,
        ),
        _in_kind,
        _show_in_kind,
    ),
    FormSpec(
        "pledge",
        "/console/pledges/new",
        _l("Record a pledge"),
        _l(
            "A promise to give, in CNY. A conditional pledge is kept as a note"
            " until its condition is met."
        ),
        (
            DONOR,
            FUND,
            AMOUNT,
            CNY_ONLY,
            _day("pledged_on", _l("Pledged on")),
            _day("due_on", _l("Due on"), required=False),
            Field("conditional", _l("Conditional"), "checkbox"),
            MEMO,
        ),
        _pledge,
        _show_pledge,
    ),
    FormSpec(
        "disbursement",
        "/console/disbursements/new",
        _l("Pay a project"),
        _l(
            "Money from a fund to one of its projects. Check the fund's cash and"
            " the project's budget below before you send."
        ),
        (
            FUND,
            Field("project", _l("Project"), "choice", required=True, choices=_projects),
            AMOUNT,
            CURRENCY,
            _day("paid_on", _l("Paid on")),
            Field(
                "functional_class",
                _l("Functional class"),
                "choice",
                required=True,
                choices=_classes,
                default="program",
            ),
            MEMO,
            Field("payee_kind", _l("Paid to"), "choice", choices=_payee_kinds),
            Field("payee_name", _l("Organisation's name"), max_length=200),
            Field(
                "payee_registration_number",
                _l("Unified social credit code"),
                max_length=18,
                help=_l("统一社会信用代码, 18 characters."),
            ),
            Field(
                "payee_pseudonym",
                _l("Person's pseudonym"),
                max_length=40,
                help=_l("A person is paid by pseudonym only, never by name."),
            ),
            Field("bank_reference", _l("Bank reference"), max_length=100),
            Field(
                "over_budget_reason",
                _l("Over the project's budget: why"),
                "textarea",
                max_length=2000,
                help=_l(
                    "Only for a payment beyond the project's remaining budget: it then waits"
                    " for an approver."
                ),
            ),
        ),
        _disbursement,
        _show_entry,
        aside=_disbursement_aside,
        aliases={
            "payee": "payee_kind",
            "payee.kind": "payee_kind",
            "payee.name": "payee_name",
            "payee.registration_number": "payee_registration_number",
            "payee.pseudonym": "payee_pseudonym",
        },
    ),
    FormSpec(
        "award",
        "/console/awards/new",
        _l("Award a scholarship"),
        _l("A scholarship for a beneficiary (by pseudonym) and term: an expense and a liability."),
        (
            FUND,
            Field(
                "beneficiary_id",
                _l("Beneficiary (pseudonym)"),
                required=True,
                max_length=limits.REF,
            ),
            AMOUNT,
            CNY_ONLY,
            Field(
                "term", _l("Term"), required=True, max_length=limits.TERM, help=_l("e.g. 2026秋")
            ),
            _day("awarded_on", _l("Awarded on")),
            Field("project", _l("Project"), "choice", choices=_projects),
        ),
        _award,
        _show_award,
    ),
    FormSpec(
        "payout",
        "/console/payouts/new",
        _l("Pay a scholarship"),
        _l(
            "Pay (part of) an award; never more than is still unpaid,"
            " never more than the fund's cash."
        ),
        (
            Field("award_id", _l("Award"), required=True, max_length=limits.REF),
            Field(
                "amount",
                _l("Amount"),
                required=True,
                max_length=limits.AMOUNT,
                help=_l("In the award's currency, e.g. 1500.00."),
            ),
            _day("paid_on", _l("Paid on")),
        ),
        _payout,
        _show_payout,
    ),
    FormSpec(
        "fee",
        "/console/fees/new",
        _l("Record a fee"),
        _l("A bank or platform fee, as its own entry."),
        (FUND, AMOUNT, CURRENCY, _day("paid_on", _l("Paid on")), MEMO),
        _fee,
        _show_entry,
    ),
    FormSpec(
        "transfer",
        "/console/transfers/new",
        _l("Transfer between funds"),
        _l("Move cash from one fund to another, with the reason."),
        (
            Field("from_fund", _l("From fund"), "choice", required=True, choices=_funds),
            Field("to_fund", _l("To fund"), "choice", required=True, choices=_funds),
            AMOUNT,
            CURRENCY,
            _day("on", _l("Date")),
            Field("reason", _l("Reason"), "textarea", required=True, max_length=limits.REASON),
        ),
        _transfer,
        _show_entry,
    ),
    FormSpec(
        "reversal",
        "/console/reversals/new",
        _l("Reverse an entry"),
        _l(
            "The only correction: the mirror image of an entry, with the reason."
            " A gift's receipt is voided with it."
        ),
        (
            Field("entry_id", _l("Entry id"), required=True, max_length=limits.REF),
            Field("reason", _l("Reason"), "textarea", required=True, max_length=limits.REASON),
            _day("on", _l("Date (leave empty for the original's)"), required=False),
        ),
        _reversal,
        _show_reversal,
    ),
    FormSpec(
        "period_close",
        "/console/periods/close",
        _l("Close a period"),
        _l(
            "Close a month (YYYY-MM) or a year (YYYY) that has ended."
            " A closed period never reopens."
        ),
        (Field("period", _l("Period"), required=True, max_length=7, help=_l("e.g. 2026-01")),),
        _close,
        _show_period,
        roles=ADMIN,
    ),
]


def _requested(result: Any) -> ApprovalRequest | None:
    """The approval request a use case answered instead of posting (None when it posted)."""
    return result if isinstance(result, ApprovalRequest) else None


def _show_request(request_: ApprovalRequest) -> list[tuple[Any, Any]]:
    return [
        (_l("Amount"), money(request_.amount.minor, request_.amount.currency)),
        (_l("Approvals needed"), str(request_.approvals_needed)),
        (_l("Expires"), day(request_.expires_at)),
        (_l("Request"), Link(url_for("console.inbox"), request_.id)),
    ]


def _render(spec: FormSpec, form: Form, status: int = 200) -> tuple[str, int]:
    context = spec.aside() if spec.aside else {}
    return (
        render_template("console/form.html", spec=spec, form=form, **context),
        status,
    )


def _view(spec: FormSpec) -> Callable[[], Any]:
    def view() -> Any:
        if request.method == "GET":
            prefill = {f.name: request.args.get(f.name) for f in spec.fields}
            return _render(spec, Form.blank(spec.fields, **prefill))
        form = Form.posted(spec.fields, request.form)
        form.aliases = spec.aliases
        data = form.load()
        if data is None:
            return _render(spec, form, 422)
        try:
            result = spec.call(data, form)
        except LedgerError as err:
            form.refused(err)
            return _render(spec, form, 422)
        waiting = _requested(result)
        rows = _show_request(waiting) if waiting else spec.present(result, data)
        return render_template(
            "console/recorded.html", spec=spec, rows=rows, waiting=waiting is not None
        )

    view.__name__ = spec.name
    view.__doc__ = str(spec.title)
    return login_required(*spec.roles)(view)


for _spec in FORMS:
    bp.add_url_rule(_spec.path, _spec.name, _view(_spec), methods=["GET", "POST"])


def install_form(spec: FormSpec) -> None:
    """Add a form page from another console module (listed under Record like these)."""
    FORMS.append(spec)
    bp.add_url_rule(spec.path, spec.name, _view(spec), methods=["GET", "POST"])


@bp.get("/console/donors")
@login_required()
def donors() -> str:
    """Donors, searched by a fragment of their name."""
    fragment = request.args.get("q", "")[:100]
    return render_template(
        "console/donors.html", q=fragment, donors=reads.search_donors(books(), fragment)
    )


@bp.get("/console/donors/<donor_id>")
@login_required()
def donor(donor_id: str) -> str:
    """A donor, their giving history and their receipts; (officers) the annual receipt form."""
    from console.office.receipts import ANNUAL_FIELDS

    found = reads.donor_file(books(), donor_id)
    if found is None:
        abort(404)
    annual = [s for s in request.args.get("annual", "").split(",")[:20] if s]
    form = Form.blank(ANNUAL_FIELDS)
    return render_template("console/donor.html", file=found, annual_form=form, annual=annual)


def forms_menu() -> list[FormSpec]:
    return FORMS


@bp.get("/console/record")
@login_required(*WRITERS)
def record() -> str:
    """Every form an officer may fill in."""
    return render_template("console/record.html", forms=FORMS)


ENTRY_KINDS = {
    "pledge": _l("Pledge"),
    "donation": _l("Gift"),
    "pledge_payment": _l("Pledge payment"),
    "in_kind": _l("In-kind gift"),
    "disbursement": _l("Project payment"),
    "scholarship_award": _l("Scholarship award"),
    "scholarship_payout": _l("Scholarship payout"),
    "fee": _l("Fee"),
    "transfer": _l("Transfer"),
    "reversal": _l("Reversal"),
    "general": _l("General entry"),
}


def entry_kind(kind: Any) -> str:
    return str(ENTRY_KINDS.get(str(getattr(kind, "value", kind)), kind))


def donor_kind(kind: Any) -> str:
    return dict(_kinds()).get(str(getattr(kind, "value", kind)), str(kind))


@dataclass(frozen=True)
class GiftLine:
    fund: str
    amount: int
    currency: str


def gift_line(entry: PostedEntry, donor_id: str) -> GiftLine:
    """What a donor's entry moved: its largest debit (cash, goods or pledge receivable)."""
    debit = max(entry.postings, key=lambda p: p.amount)
    return GiftLine(debit.fund, debit.amount, debit.currency)


bp.add_app_template_global(entry_kind, "entry_kind")
bp.add_app_template_global(donor_kind, "donor_kind")
bp.add_app_template_global(gift_line, "gift_line")
bp.add_app_template_test(lambda value: isinstance(value, Link), "instance_of_link")
