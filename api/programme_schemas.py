"""Schemas of the places and programmes (campaigns, matchers, updates, honorary chiefs)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.schemas import LedgerDate, Memo, MoneyIn, MoneyOut, StrictBoolean, Text
from usecases import campaigns

__all__ = [
    "CampaignEdit",
    "CampaignIn",
    "CampaignList",
    "CampaignOut",
    "CampaignQuery",
    "ChiefIn",
    "ChiefList",
    "ChiefOut",
    "ChiefQuery",
    "MatcherIn",
    "MatcherOut",
    "PhotoOut",
    "PlaceIn",
    "PlaceList",
    "PlaceOut",
    "PlaceQuery",
    "UpdateIn",
    "UpdateOut",
]

PLACE_CODE = r"^[0-9]{6}([0-9]{3}){0,2}$"


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A list answer: `{"items": [...]}`."""
    attrs: dict[str, Any] = {"items": fields.List(fields.Nested(item), required=True)}
    return Schema.from_dict(attrs, name=name)


class PlaceIn(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(PLACE_CODE),
        metadata={"description": "county: GB/T 2260 (6 digits); town 9, village 12 digits"},
    )
    kind = fields.String(required=True, validate=validate.OneOf(("county", "town", "village")))
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    name_en = Text(load_default="", validate=validate.Length(max=100))
    parent = fields.String(load_default="", validate=validate.Regexp(r"^([0-9]{6,9})?$"))
    official = StrictBoolean(
        load_default=False,
        metadata={"description": "true when a person checked the code against the published list"},
    )


class PlaceOut(Schema):
    code = fields.String(required=True)
    kind = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)
    parent = fields.String(required=True, metadata={"description": "'' for a county"})
    official = fields.Boolean(required=True)
    path = fields.List(
        fields.String(), required=True, metadata={"description": "names, county first"}
    )


class PlaceQuery(Schema):
    parent = fields.String(validate=validate.Regexp(r"^[0-9]{6,9}$"))
    kind = fields.String(validate=validate.OneOf(("county", "town", "village")))


PlaceList = page_of(PlaceOut, "PlaceList")


# -- campaigns -------------------------------------------------------------------------------
SLUG = r"^[a-z0-9][a-z0-9-]{1,59}$"
PHOTO = r"^[0-9a-f]{64}$"


class CampaignIn(Schema):
    slug = fields.String(
        required=True,
        validate=validate.Regexp(SLUG),
        metadata={"description": "the public address: /c/{slug}"},
    )
    fund = Text(required=True, validate=validate.Length(min=1, max=40))
    project = Text(load_default="", validate=validate.Length(max=40))
    place = fields.String(load_default="", validate=validate.Regexp(r"^([0-9]{6,12})?$"))
    title_zh = Text(required=True, validate=validate.Length(min=1, max=200))
    title_en = Text(load_default="", validate=validate.Length(max=200))
    story_zh = Memo(load_default="", validate=validate.Length(max=20000))
    story_en = Memo(load_default="", validate=validate.Length(max=20000))
    goal = fields.Nested(MoneyIn, required=True, metadata={"description": "in CNY"})
    starts_on = LedgerDate(required=True)
    ends_on = LedgerDate(required=True)
    cover = fields.String(
        load_default="",
        validate=validate.Regexp(r"^([0-9a-f]{64})?$"),
        metadata={"description": "a photo's sha256 (POST /api/v1/photos)"},
    )
    status = fields.String(
        load_default="draft", validate=validate.OneOf(("draft", "open", "closed"))
    )


class CampaignEdit(Schema):
    title_zh = Text(validate=validate.Length(min=1, max=200))
    title_en = Text(validate=validate.Length(max=200))
    story_zh = Memo(validate=validate.Length(max=20000))
    story_en = Memo(validate=validate.Length(max=20000))
    ends_on = LedgerDate()
    cover = fields.String(validate=validate.Regexp(r"^([0-9a-f]{64})?$"))
    status = fields.String(validate=validate.OneOf(("draft", "open", "closed")))


class ProgressOut(Schema):
    goal = fields.Nested(MoneyOut, required=True)
    raised = fields.Nested(MoneyOut, required=True, metadata={"description": "gifts + matched"})
    gifts = fields.Nested(MoneyOut, required=True, metadata={"description": "less reversals"})
    matched = fields.Nested(MoneyOut, required=True)
    matched_for_reversed = fields.Nested(
        MoneyOut,
        required=True,
        metadata={
            "description": "part of matched: matches of gifts later reversed, which stand "
            "(the matcher's money was received; reverse the match itself if it is refunded)"
        },
    )
    donors = fields.Integer(required=True)
    percent = fields.Integer(required=True)


class MatcherOut(Schema):
    donor_id = fields.String(required=True)
    pledge_id = fields.String(required=True)
    ratio = fields.String(required=True, metadata={"example": "1:1"})
    cap = fields.Nested(MoneyOut, required=True)


class CampaignOut(Schema):
    slug = fields.String(required=True)
    fund = fields.String(required=True)
    project = fields.String(required=True)
    place = fields.String(required=True)
    title_zh = fields.String(required=True)
    title_en = fields.String(required=True)
    story_zh = fields.String(required=True)
    story_en = fields.String(required=True)
    goal = fields.Nested(MoneyOut, required=True)
    starts_on = fields.String(required=True)
    ends_on = fields.String(required=True)
    cover = fields.String(required=True)
    status = fields.String(required=True)
    phase = fields.String(required=True, metadata={"description": "draft/upcoming/running/ended"})
    short_of_goal = fields.Boolean(required=True)
    progress = fields.Nested(ProgressOut, required=True)
    matcher = fields.Nested(MatcherOut, required=True, allow_none=True)
    page = fields.String(required=True, metadata={"description": "the public page's path"})


class CampaignQuery(Schema):
    fund = Text(validate=validate.Length(min=1, max=40))


CampaignList = page_of(CampaignOut, "CampaignList")


class MatcherIn(Schema):
    pledge_id = Text(required=True, validate=validate.Length(min=1, max=40))
    ratio = fields.String(
        load_default="1:1",
        validate=validate.Regexp(r"^[1-9][0-9]{0,2}:[1-9][0-9]{0,2}$"),
        metadata={"description": "matched:given, e.g. 1:1 or 1:2"},
    )
    cap = fields.Nested(MoneyIn, required=True)


class UpdateIn(Schema):
    body_zh = Memo(required=True, validate=validate.Length(min=1, max=5000))
    body_en = Memo(load_default="", validate=validate.Length(max=5000))
    photos = fields.List(
        fields.String(validate=validate.Regexp(PHOTO)),
        load_default=list,
        validate=validate.Length(max=campaigns.UPDATE_PHOTOS),
    )


class UpdateOut(Schema):
    id = fields.String(required=True)
    body_zh = fields.String(required=True)
    body_en = fields.String(required=True)
    photos = fields.List(fields.String(), required=True)
    posted_at = fields.String(required=True)


class PhotoOut(Schema):
    sha256 = fields.String(required=True)
    url = fields.String(required=True)


# -- honorary village chiefs -----------------------------------------------------------------
class ChiefIn(Schema):
    village = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{12}$"))
    donor_id = Text(required=True, validate=validate.Length(min=1, max=40))
    starts_on = LedgerDate(required=True)
    ends_on = LedgerDate(required=True)
    citation_zh = Memo(required=True, validate=validate.Length(min=1, max=2000))
    citation_en = Memo(load_default="", validate=validate.Length(max=2000))
    shown = fields.String(
        load_default="name",
        validate=validate.OneOf(("name", "anonymous")),
        metadata={"description": "how the chief chose to appear in public"},
    )


class ChiefOut(Schema):
    id = fields.String(required=True)
    village = fields.String(required=True)
    donor_id = fields.String(required=True)
    starts_on = fields.String(required=True)
    ends_on = fields.String(required=True)
    citation_zh = fields.String(required=True)
    citation_en = fields.String(required=True)
    shown = fields.String(required=True)
    public_name = fields.String(
        required=True, allow_none=True, metadata={"description": "null: shown anonymously"}
    )


class ChiefQuery(Schema):
    village = fields.String(validate=validate.Regexp(r"^[0-9]{12}$"))


ChiefList = page_of(ChiefOut, "ChiefList")
