"""Officers' pages for the programmes: campaigns (create, edit, matcher, updates) and honorary
village chiefs, over the same use cases as the API (`usecases.campaigns`, `usecases.chiefs`).

The forms are `console.officers.FormSpec`s installed beside the others (listed under Record);
`/console/programmes` lists the campaigns with their progress as the books say, and the chiefs
with their annual summaries. The edit form takes a cover photo and the update form photos
(multipart, with the CSRF token): each is kept by `usecases.campaigns.store_photo`, which judges
an image by its bytes and its size, as `POST /api/v1/photos` does; a refusal is shown beside the
file field and nothing else is changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from console import reads
from console.auth import WRITERS, current_actor, login_required
from console.forms import Choice, Field, Form
from console.i18n import money
from console.officers import FormSpec, Link, install_form
from console.pages import bp
from console.shell import audit_facts
from console.state import books
from ledger.errors import InvalidEntry, NotFound
from ledger.money import FUNCTIONAL_CURRENCY
from ledger.text import digits
from usecases import campaigns, chiefs, places

__all__ = ["PROGRAMME_FORMS"]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _funds() -> list[Choice]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books()) if f.is_open]


def _projects() -> list[Choice]:
    return [("", "—")] + [(p.code, f"{p.name} ({p.code})") for p in reads.projects(books(), None)]


def _places() -> list[Choice]:
    found = places.list_places(books())
    known = {p.code: p for p in found}
    return [("", "—")] + [
        (p.code, " · ".join(x.name for x in places.path_of(known, p.code))) for p in found
    ]


def _villages() -> list[Choice]:
    return [c for c in _places() if len(c[0]) == 12]


def _campaigns() -> list[Choice]:
    return [(c.slug, f"{c.title_zh} ({c.slug})") for c in campaigns.list_campaigns(books())]


def _statuses() -> list[Choice]:
    return [("draft", str(_l("Draft"))), ("open", str(_l("Open"))), ("closed", str(_l("Closed")))]


def _shown() -> list[Choice]:
    return [("name", str(_l("By name"))), ("anonymous", str(_l("Anonymously")))]


def _pledges() -> list[Choice]:
    found = []
    for f in reads.funds(books()):
        for p in reads.open_pledges(books(), f.code):
            found.append(
                (p.id, f"{p.id} · {p.donor_id} · {money(p.outstanding_minor, p.currency)}")
            )
    return found


def _cny() -> list[Choice]:
    return [(FUNCTIONAL_CURRENCY, FUNCTIONAL_CURRENCY)]


def _audited(form: Form, scope: str) -> dict[str, Any]:
    key = form.key(scope)
    return {"by": current_actor(), "audit": audit_facts(scope, key)}


def _text(data: dict[str, Any], *names: str) -> dict[str, str]:
    return {n: str(data.get(n) or "") for n in names}


class PhotoRefused(InvalidEntry):
    """A file the use case would not keep as a photo (its type judged by its bytes, or size)."""

    code = "photo_refused"


class TooManyPhotos(InvalidEntry):
    code = "too_many_photos"


def _uploaded(name: str, most: int) -> list[FileStorage]:
    """The files chosen in the field `name` (an empty file input sends none).

    Raises:
        TooManyPhotos (field `name`): more than `most` files.
    """
    chosen = [f for f in request.files.getlist(name) if f and f.filename]
    if len(chosen) > most:
        raise TooManyPhotos(f"choose at most {most} photos", field=name)
    return chosen


def _kept(files: list[FileStorage], name: str) -> list[str]:
    """Keep each photo (judged by its bytes and size by the use case); their digests.

    Raises:
        PhotoRefused (field `name`): one is not a PNG, JPEG or WebP image, or too large.
    """
    digests = []
    for f in files:
        try:
            digests.append(
                campaigns.store_photo(
                    books(),
                    f.stream.read(campaigns.PHOTO_LIMIT + 1),
                    by=current_actor(),
                    audit=audit_facts("photos"),
                )
            )
        except InvalidEntry as refused:
            raise PhotoRefused(refused.message, field=name) from None
    return digests


# -- the calls ----------------------------------------------------------------------------------
def _create(data: dict[str, Any], form: Form) -> Any:
    return campaigns.create_campaign(
        books(),
        **_audited(form, "campaigns"),
        slug=data["slug"],
        fund=data["fund"],
        project=data.get("project") or "",
        place=data.get("place") or "",
        goal=data["goal"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        status=data["status"],
        **_text(data, "title_zh", "title_en", "story_zh", "story_en"),
    )


def _edit(data: dict[str, Any], form: Form) -> Any:
    changes: dict[str, Any] = {
        name: data[name]
        for name in ("title_zh", "title_en", "story_zh", "story_en", "ends_on", "status")
        if data.get(name)
    }
    campaigns.get_campaign(books(), data["slug"])  # before any photo is kept
    for digest in _kept(_uploaded("cover", 1), "cover"):
        changes["cover"] = digest
    return campaigns.edit_campaign(books(), data["slug"], **_audited(form, "campaigns"), **changes)


def _matcher(data: dict[str, Any], form: Form) -> Any:
    return campaigns.set_matcher(
        books(),
        data["slug"],
        pledge_id=data["pledge_id"],
        ratio=data["ratio"],
        cap=data["cap"],
        **_audited(form, "matchers"),
    )


def _update(data: dict[str, Any], form: Form) -> Any:
    campaigns.get_campaign(books(), data["slug"])  # before any photo is kept
    photos = _kept(_uploaded("photos", campaigns.UPDATE_PHOTOS), "photos")
    return campaigns.post_update(
        books(),
        data["slug"],
        body_zh=data["body_zh"],
        body_en=data.get("body_en") or "",
        photos=photos,
        **_audited(form, "campaign-updates"),
    )


def _chief(data: dict[str, Any], form: Form) -> Any:
    return chiefs.appoint_chief(
        books(),
        village=data["village"],
        donor_id=data["donor_id"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        citation_zh=data["citation_zh"],
        citation_en=data.get("citation_en") or "",
        shown=data["shown"],
        **_audited(form, "chiefs"),
    )


# -- what each shows once recorded --------------------------------------------------------------
def _show_campaign(campaign: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Campaign"), campaign.title_zh),
        (_l("Public page"), Link(url_for("programmes.campaign_page", slug=campaign.slug))),
    ]


def _show_matcher(matcher: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Matcher"), matcher.donor_id),
        (_l("Ratio"), f"{matcher.ratio_num}:{matcher.ratio_den}"),
        (_l("Cap"), money(matcher.cap_minor, FUNCTIONAL_CURRENCY)),
        (_l("Public page"), Link(url_for("programmes.campaign_page", slug=matcher.campaign))),
    ]


def _show_update(update: dict[str, Any], data: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Update"), update["body_zh"]),
        (_l("Photos"), len(update.get("photos") or ())),
        (_l("Public page"), Link(url_for("programmes.campaign_page", slug=data["slug"]))),
    ]


def _show_chief(chief: Any, _: dict[str, Any]) -> list[tuple[Any, Any]]:
    return [
        (_l("Honorary chief"), chief.public_name or str(_l("Shown anonymously"))),
        (_l("Term"), f"{chief.starts_on} — {chief.ends_on}"),
        (_l("Village page"), Link(url_for("programmes.place_page", code=chief.village))),
    ]


SLUG = Field("slug", _l("Campaign"), "choice", required=True, choices=_campaigns)

PROGRAMME_FORMS = [
    FormSpec(
        "campaign_new",
        "/console/campaigns/new",
        _l("New campaign"),
        _l("A crowdfunding drive under a fund, with a goal; its progress is read from the books."),
        (
            Field(
                "slug",
                _l("Address"),
                required=True,
                max_length=60,
                help=_l("Lower-case letters, digits and '-': the page is /c/<address>."),
            ),
            Field("fund", _l("Fund"), "choice", required=True, choices=_funds),
            Field("project", _l("Project"), "choice", choices=_projects),
            Field("place", _l("Place"), "choice", choices=_places),
            Field("title_zh", _l("Title (Chinese)"), required=True, max_length=200),
            Field("title_en", _l("Title (English)"), max_length=200),
            Field("story_zh", _l("Story (Chinese)"), "textarea", max_length=20000),
            Field("story_en", _l("Story (English)"), "textarea", max_length=20000),
            Field("goal", _l("Goal"), "amount", required=True, max_length=40),
            Field("currency", _l("Currency"), "choice", required=True, choices=_cny, default="CNY"),
            Field("starts_on", _l("Starts on"), "date", required=True),
            Field("ends_on", _l("Ends on"), "date", required=True),
            Field(
                "status", _l("Status"), "choice", required=True, choices=_statuses, default="draft"
            ),
        ),
        _create,
        _show_campaign,
    ),
    FormSpec(
        "campaign_edit",
        "/console/campaigns/edit",
        _l("Edit a campaign"),
        _l("Change its text, cover photo, end date or status; what is left empty stays as it is."),
        (
            SLUG,
            Field(
                "cover",
                _l("Cover photo"),
                "photo",
                help=_l("A PNG, JPEG or WebP image of at most 5 MiB; it replaces the cover."),
            ),
            Field("title_zh", _l("Title (Chinese)"), max_length=200),
            Field("title_en", _l("Title (English)"), max_length=200),
            Field("story_zh", _l("Story (Chinese)"), "textarea", max_length=20000),
            Field("story_en", _l("Story (English)"), "textarea", max_length=20000),
            Field("ends_on", _l("Ends on"), "date"),
            Field("status", _l("Status"), "choice", choices=lambda: [("", "—"), *_statuses()]),
        ),
        _edit,
        _show_campaign,
    ),
    FormSpec(
        "campaign_matcher",
        "/console/campaigns/matcher",
        _l("Add a matcher"),
        _l(
            "A firm's unconditional pledge to the campaign's fund matches each gift at a ratio,"
            " up to a cap."
        ),
        (
            SLUG,
            Field("pledge_id", _l("Pledge"), "choice", required=True, choices=_pledges),
            Field(
                "ratio",
                _l("Ratio"),
                required=True,
                max_length=7,
                default="1:1",
                help=_l("Matched to given, e.g. 1:1 or 1:2."),
            ),
            Field("cap", _l("Cap"), "amount", required=True, max_length=40),
            Field("currency", _l("Currency"), "choice", required=True, choices=_cny, default="CNY"),
        ),
        _matcher,
        _show_matcher,
    ),
    FormSpec(
        "campaign_update",
        "/console/campaigns/update",
        _l("Post a campaign update"),
        _l("News for the campaign's page, with photos if you like."),
        (
            SLUG,
            Field("body_zh", _l("Update (Chinese)"), "textarea", required=True, max_length=5000),
            Field("body_en", _l("Update (English)"), "textarea", max_length=5000),
            Field(
                "photos",
                _l("Photos"),
                "photos",
                help=_l("Up to 9 PNG, JPEG or WebP images, each of at most 5 MiB."),
            ),
        ),
        _update,
        _show_update,
    ),
    FormSpec(
        "chief_new",
        "/console/chiefs/new",
        _l("Appoint an honorary village chief"),
        _l("A donor, a person or a firm, honoured for a term with a citation."),
        (
            Field("village", _l("Village"), "choice", required=True, choices=_villages),
            Field(
                "donor_id",
                _l("Donor"),
                required=True,
                max_length=40,
                help=_l("The donor's id, e.g. D-…; find it under Donors."),
            ),
            Field("starts_on", _l("Term starts"), "date", required=True),
            Field("ends_on", _l("Term ends"), "date", required=True),
            Field(
                "citation_zh", _l("Citation (Chinese)"), "textarea", required=True, max_length=2000
            ),
            Field("citation_en", _l("Citation (English)"), "textarea", max_length=2000),
            Field(
                "shown",
                _l("Shown in public"),
                "choice",
                required=True,
                choices=_shown,
                default="name",
            ),
        ),
        _chief,
        _show_chief,
    ),
]

for _spec in PROGRAMME_FORMS:
    install_form(_spec)

#: Request body limits of the forms that carry photos (room for an oversized photo, so that
#: the use case refuses it beside its field rather than the server refusing the request).
PHOTO_BODIES = {
    "console.campaign_edit": 2 * campaigns.PHOTO_LIMIT + 256 * 1024,
    "console.campaign_update": (campaigns.UPDATE_PHOTOS + 1) * campaigns.PHOTO_LIMIT + 256 * 1024,
}


@bp.url_value_preprocessor
def _photo_bodies(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form, so the larger limit applies to it.
    limit = PHOTO_BODIES.get(endpoint or "")
    if limit and request.method == "POST":
        request.max_content_length = limit


@bp.get("/console/programmes")
@login_required()
def programmes() -> str:
    """Campaigns with their progress (from the books) and honorary chiefs."""
    today = _today()
    views = [
        campaigns.overview(books(), c.slug, today=today) for c in campaigns.list_campaigns(books())
    ]
    known = {p.code: p for p in places.list_places(books())}
    appointed = [
        (c, " · ".join(p.name for p in places.path_of(known, c.village)))
        for c in chiefs.list_chiefs(books())
    ]
    return render_template(
        "console/programmes.html", views=views, chiefs=appointed, year=today.year - 1
    )


@bp.get("/console/chiefs/<chief_id>/summary-<year>.pdf")
@login_required(*WRITERS, "auditor")
def chief_summary(chief_id: str, year: str) -> Response:
    """A chief's annual summary of their village (PDF)."""
    if not (digits(year) and len(year) == 4):
        abort(404)
    try:
        pdf = chiefs.chief_summary_pdf(books(), chief_id, int(year))
    except (NotFound, InvalidEntry):
        abort(404)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="chief-summary-{year}.pdf"'},
    )


def public_programmes() -> dict[str, Any]:
    """For the landing page: the public campaigns, and the villages that have chiefs."""
    known = {p.code: p for p in places.list_places(books())}
    villages = sorted({c.village for c in chiefs.list_chiefs(books())})
    return {
        "campaigns": campaigns.list_campaigns(books(), public=True),
        "villages": [(v, " · ".join(p.name for p in places.path_of(known, v))) for v in villages],
    }


bp.add_app_template_global(public_programmes, "public_programmes")
