"""Campaigns (众筹) over HTTP: create, edit, list, one; the matcher, updates and photos.

The public page of a campaign (`/c/{slug}`) and of a village (`/v/{code}`) are in
`api.resources.programme_pages`; what a campaign raised is read from the journal by
`usecases.campaigns`, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import current_app, request

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.programme_schemas import (
    CampaignEdit,
    CampaignIn,
    CampaignList,
    CampaignOut,
    CampaignQuery,
    MatcherIn,
    MatcherOut,
    PhotoOut,
    UpdateIn,
    UpdateOut,
)
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import money
from api.trail import audit_facts
from usecases import campaigns
from usecases.campaigns import Matcher, Overview

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaigns (众筹).")

#: The body limit of a photo upload: the photo and the rest of the form.
PHOTO_BODY_LIMIT = campaigns.PHOTO_LIMIT + 64 * 1024

_PHOTO_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def present_matcher(m: Matcher | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {
        "donor_id": m.donor_id,
        "pledge_id": m.pledge_id,
        "ratio": f"{m.ratio_num}:{m.ratio_den}",
        "cap": money(m.cap_minor, "CNY"),
    }


def present_campaign(view: Overview) -> dict[str, Any]:
    c, p = view.campaign, view.progress
    return {
        **{
            name: getattr(c, name)
            for name in ("slug", "fund", "project", "place", "title_zh", "title_en")
        },
        **{name: getattr(c, name) for name in ("story_zh", "story_en", "starts_on", "ends_on")},
        "cover": c.cover,
        "status": c.status,
        "goal": money(c.goal_minor, c.currency),
        "phase": view.phase,
        "short_of_goal": view.short_of_goal,
        "progress": {
            "goal": money(p.goal_minor, "CNY"),
            "raised": money(p.raised_minor, "CNY"),
            "gifts": money(p.gifts_minor, "CNY"),
            "matched": money(p.matched_minor, "CNY"),
            "matched_for_reversed": money(p.matched_for_reversed_minor, "CNY"),
            "donors": p.donors,
            "percent": p.percent,
        },
        "matcher": present_matcher(view.matcher),
        "page": f"/c/{c.slug}",
    }


def _overview(slug: str) -> dict[str, Any]:
    return present_campaign(campaigns.overview(books(), slug, today=_today()))


@blp.route("/campaigns", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("already_exists", "unknown_fund", "unknown_place"),
    body=True,
    idempotent=True,
)
@blp.arguments(CampaignIn())
@blp.response(201, CampaignOut)
def create_campaign(data: dict[str, Any]) -> dict[str, Any]:
    """Create a campaign under a fund (optionally for a project of that fund, or a place).

    Its progress is read from the books: gifts tagged to it (`campaign` on a donation) less
    their reversals, plus its matcher's gifts. `status` draft campaigns are not public.
    """
    key = idempotency_key("campaigns")
    made = campaigns.create_campaign(
        books(), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    return _overview(made.slug)


@blp.route("/campaigns", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(CampaignQuery(), location="query", unknown="raise")
@blp.response(200, CampaignList)
def list_campaigns(query: dict[str, Any]) -> dict[str, Any]:
    """List campaigns (drafts included), newest start first, with their progress."""
    found = campaigns.list_campaigns(books(), fund=query.get("fund"))
    return {"items": [_overview(c.slug) for c in found]}


@blp.route("/campaigns/<slug>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, CampaignOut)
def get_campaign(slug: str) -> dict[str, Any]:
    """One campaign with its progress, as the books say."""
    return _overview(slug)


@blp.route("/campaigns/<slug>", methods=["PATCH"])
@operation(blp, roles=WRITERS, problems=("not_found",), body=True)
@blp.arguments(CampaignEdit())
@blp.response(200, CampaignOut)
def edit_campaign(data: dict[str, Any], slug: str) -> dict[str, Any]:
    """Change a campaign's public text, cover, end date or status (open it, close it)."""
    campaigns.edit_campaign(books(), slug, by=current_actor(), audit=audit_facts(), **data)
    return _overview(slug)


@blp.route("/campaigns/<slug>/matcher", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "already_exists", "unknown_pledge"),
    body=True,
    idempotent=True,
)
@blp.arguments(MatcherIn())
@blp.response(201, MatcherOut)
def set_matcher(data: dict[str, Any], slug: str) -> dict[str, Any] | None:
    """Give the campaign its matcher: the donor of an unconditional CNY pledge to the
    campaign's fund, matching each eligible gift at `ratio` up to `cap` (once)."""
    key = idempotency_key(f"campaigns/{slug}/matcher")
    made = campaigns.set_matcher(
        books(), slug, by=current_actor(), key=key, audit=audit_facts(), **data
    )
    return present_matcher(made)


@blp.route("/campaigns/<slug>/updates", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found",), body=True, idempotent=True)
@blp.arguments(UpdateIn())
@blp.response(201, UpdateOut)
def post_update(data: dict[str, Any], slug: str) -> dict[str, Any]:
    """Post an update on the campaign (text, photos uploaded before): shown on its page."""
    key = idempotency_key(f"campaigns/{slug}/updates")
    return campaigns.post_update(
        books(), slug, by=current_actor(), key=key, audit=audit_facts(), **data
    )


def _upload(view: Callable[..., Any]) -> Callable[..., Any]:
    view.accepts_form = True  # type: ignore[attr-defined]
    view.upload = True  # type: ignore[attr-defined]
    return view


@blp.url_value_preprocessor
def _photo_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    view = current_app.view_functions.get(endpoint or "")
    if getattr(view, "upload", False):
        request.max_content_length = PHOTO_BODY_LIMIT


@blp.route("/photos", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("validation_error", "payload_too_large"), idempotent=True)
@blp.doc(**_PHOTO_DOC)
@blp.response(201, PhotoOut)
@_upload
def upload_photo() -> dict[str, Any]:
    """Upload a photo for a campaign's cover or updates (`file`: PNG, JPEG or WebP, judged by
    its bytes, at most 5 MiB). The same bytes answer the same digest."""
    file = request.files.get("file")
    if file is None or set(request.files) - {"file"} or request.form:
        raise ApiProblem(
            "validation_error", "Send one multipart field: file.", errors={"file": ["required"]}
        )
    digest = campaigns.store_photo(
        books(),
        file.stream.read(campaigns.PHOTO_LIMIT + 1),
        by=current_actor(),
        key=idempotency_key("photos"),
        audit=audit_facts(),
    )
    return {"sha256": digest, "url": f"/c/photos/{digest}"}
