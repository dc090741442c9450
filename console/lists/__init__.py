"""The console's lists: gifts, pledges, spending, awards and payouts, the journal, receipts,
audit events and donors, each filtered, sorted and paged by a cursor.

Every page calls the same `usecases.queries` function as the API's list and renders its page:
the figures are the journal's. Beneficiaries appear by pseudonym and cohort only. Readers
(`auditor`, `officer`, `admin`) see every list; audit events are for auditors and admins, as
in the API.

Install with `init_app(app)` after `console.init_app` (it registers the `console_lists` blueprint).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import READERS, current_user, login_required
from console.lists.filters import Filter, Query, parse
from console.shell import make_blueprint
from console.state import books
from ledger.entries import EntryKind
from ledger.errors import LedgerError
from ledger.money import EXPONENTS
from usecases import queries

__all__ = ["AUDITORS", "bp", "init_app", "list_page"]

bp = make_blueprint("console_lists", __name__, url_prefix="/console/lists")

AUDITORS = ("auditor", "admin")
ORDERS = ("newest", "oldest")

FROM = Filter("from", "date_from", _l("From"), "date", max_length=10)
TO = Filter("to", "date_to", _l("To"), "date", max_length=10)
DONOR = Filter("donor_id", "donor_id", _l("Donor id"), max_length=40)
PROJECT = Filter("project", "project", _l("Project"), max_length=40)
COHORT = Filter("cohort", "cohort", _l("Cohort"), max_length=60)


def init_app(app: Flask) -> None:
    """Register the lists on `app` (once `console.init_app` has installed the console)."""
    app.register_blueprint(bp)


def _fund() -> Filter:
    choices = [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books())]
    return Filter("fund", "fund", _l("Fund"), "choice", choices, max_length=40)


def list_page(
    template: str,
    filters: Sequence[Filter],
    fetch: Callable[..., queries.Page[Any]],
    *,
    orders: Sequence[str] = ORDERS,
    **context: Any,
) -> tuple[str, int]:
    """Parse the query, call `fetch` with it, render `template`; 400 with the form if bad."""
    query = parse(filters, orders=orders)
    page = None
    if not query.errors:
        try:
            page = fetch(**query.keywords)
        except LedgerError as refused:  # a cursor of another list, an unknown kind
            query.errors[refused.field or "cursor"] = refused.message
    return (
        render_template(
            template,
            page=page,
            query=query,
            filters=filters,
            orders=orders,
            endpoint=request.endpoint,
            **context,
        ),
        400 if query.errors else 200,
    )


@bp.get("/")
@login_required(*READERS)
def index() -> str:
    """Every list, one link each (audit events for auditors and admins)."""
    links = [
        ("console_lists.donors", _l("Donors")),
        ("console_lists.donations", _l("Donations")),
        ("console_lists.in_kind", _l("In-kind gifts")),
        ("console_lists.pledges", _l("Pledges")),
        ("console_lists.disbursements", _l("Disbursements")),
        ("console_lists.awards", _l("Scholarship awards")),
        ("console_lists.payouts", _l("Scholarship payouts")),
        ("console_office.beneficiaries", _l("Beneficiaries")),
        ("console_lists.journal", _l("Journal")),
        ("console_lists.receipts", _l("Receipts")),
    ]
    user = current_user()
    if user is not None and user.can(*AUDITORS):
        links.append(("console_lists.audit_events", _l("Audit events")))
    return render_template("console/lists/index.html", links=links)


@bp.get("/donations")
@login_required(*READERS)
def donations() -> tuple[str, int]:
    """Cash and bank gifts, newest first."""
    currency = Filter(
        "currency", "currency", _l("Currency"), "choice", [(c, c) for c in EXPONENTS], 3
    )
    method = Filter(
        "method",
        "method",
        _l("Method"),
        "choice",
        [("bank", _l("Bank transfer")), ("cash", _l("Cash")), ("online", _l("Online"))],
    )
    filters = [_fund(), DONOR, FROM, TO, currency, method]
    return list_page("console/lists/donations.html", filters, _with_books(queries.donations))


@bp.get("/in-kind")
@login_required(*READERS)
def in_kind() -> tuple[str, int]:
    """Goods received at fair value."""
    filters = [_fund(), DONOR, FROM, TO]
    return list_page("console/lists/in_kind.html", filters, _with_books(queries.in_kind_donations))


@bp.get("/pledges")
@login_required(*READERS)
def pledges() -> tuple[str, int]:
    """Pledges, outstanding first, with paid and outstanding from the books."""
    filters = [_fund(), DONOR]
    return list_page("console/lists/pledges.html", filters, _with_books(queries.pledges), orders=())


@bp.get("/disbursements")
@login_required(*READERS)
def disbursements() -> tuple[str, int]:
    """Payments to projects."""
    filters = [_fund(), PROJECT, FROM, TO]
    return list_page(
        "console/lists/disbursements.html", filters, _with_books(queries.disbursements)
    )


@bp.get("/awards")
@login_required(*READERS)
def awards() -> tuple[str, int]:
    """Scholarship awards with paid and unpaid; beneficiaries by pseudonym and cohort."""
    filters = [_fund(), COHORT, FROM, TO]
    return list_page("console/lists/awards.html", filters, _with_books(queries.awards))


@bp.get("/payouts")
@login_required(*READERS)
def payouts() -> tuple[str, int]:
    """Scholarship payouts; beneficiaries by pseudonym and cohort."""
    award = Filter("award_id", "award_id", _l("Award"), max_length=40)
    filters = [_fund(), COHORT, award, FROM, TO]
    return list_page("console/lists/payouts.html", filters, _with_books(queries.payouts))


@bp.get("/journal")
@login_required(*READERS)
def journal() -> tuple[str, int]:
    """The journal: every entry, by kind, fund, project, party, account and date."""
    kind = Filter("kind", "kind", _l("Kind"), "choice", [(k.value, k.value) for k in EntryKind], 30)
    party = Filter("party", "party", _l("Donor or beneficiary id"), max_length=40)
    account = Filter("account", "account", _l("Account"), max_length=20)
    filters = [_fund(), kind, PROJECT, party, account, FROM, TO]
    return list_page("console/lists/journal.html", filters, _with_books(queries.entries))


@bp.get("/receipts")
@login_required(*READERS)
def receipts() -> tuple[str, int]:
    """Receipts, live and void, by serial prefix, donor and date issued."""
    serial = Filter("serial", "prefix", _l("Serial starts with"), max_length=40)
    status = Filter(
        "status", "status", _l("Status"), "choice", [("live", _l("Live")), ("void", _l("Void"))]
    )
    filters = [serial, DONOR, FROM, TO, status]
    return list_page("console/lists/receipts.html", filters, _with_books(queries.receipts))


@bp.get("/audit-events")
@login_required(*AUDITORS)
def audit_events() -> tuple[str, int]:
    """Who did what (refused attempts too), in the trail's order."""
    filters = [
        Filter("actor", "actor", _l("Who"), max_length=100),
        Filter("action", "action", _l("Action"), max_length=100),
        Filter("since", "since", _l("Since (UTC, ISO-8601)"), max_length=32),
        Filter("until", "until", _l("Until (UTC, ISO-8601)"), max_length=32),
    ]
    return list_page(
        "console/lists/audit_events.html", filters, _with_books(queries.audit_events), orders=()
    )


@bp.get("/donors")
@login_required(*READERS)
def donors() -> tuple[str, int]:
    """Donors by name, searched by a fragment of it, a page at a time."""
    filters = [Filter("q", "q", _l("Name contains"), max_length=100)]
    return list_page(
        "console/lists/donors.html",
        filters,
        lambda q="", **kw: queries.donors_matching(books(), q, **kw),
        orders=(),
    )


def _with_books(use_case: Callable[..., queries.Page[Any]]) -> Callable[..., queries.Page[Any]]:
    return lambda **keywords: use_case(books(), **keywords)


def page_links(query: Query) -> dict[str, str]:
    """The query-string arguments a page's links keep (filters, order, size)."""
    return query.link_args()


bp.add_app_template_global(page_links, "list_page_links")
