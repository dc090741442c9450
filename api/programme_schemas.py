"""Schemas of the places and programmes (campaigns, matchers, updates, honorary chiefs)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.schemas import StrictBoolean, Text

__all__ = ["PlaceIn", "PlaceList", "PlaceOut", "PlaceQuery"]

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
