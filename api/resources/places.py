"""Places: counties (GB/T 2260), their towns and villages, where projects are."""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN
from api.blueprint import Blueprint
from api.programme_schemas import PlaceIn, PlaceList, PlaceOut, PlaceQuery
from api.resources.common import books, current_actor, idempotency_key, operation, read
from api.trail import audit_facts
from usecases import places
from usecases.places import Place

blp = Blueprint(
    "places", __name__, url_prefix="/api/v1", description="Places: county, town, village."
)


def present_place(place: Place, known: dict[str, Place]) -> dict[str, Any]:
    return {
        "code": place.code,
        "kind": place.kind,
        "name": place.name,
        "name_en": place.name_en,
        "parent": place.parent,
        "official": place.official,
        "path": [p.name for p in places.path_of(known, place.code)],
    }


@blp.route("/places", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(PlaceIn())
@blp.response(201, PlaceOut)
def create_place(data: dict[str, Any]) -> dict[str, Any]:
    """Add a county, town or village (a town's or village's code starts with its parent's)."""
    key = idempotency_key("places")
    place = places.add_place(books(), by=current_actor(), key=key, audit=audit_facts(), **data)
    known = read(lambda repo: places.load_places(repo.conn))
    return present_place(place, known)


@blp.route("/places", methods=["GET"])
@operation(blp, roles=None, problems=("validation_error",))
@blp.arguments(PlaceQuery(), location="query", unknown="raise")
@blp.response(200, PlaceList)
def list_places(query: dict[str, Any]) -> dict[str, Any]:
    """List places (public), counties first; optionally the children of `parent` or one kind."""
    known = read(lambda repo: places.load_places(repo.conn))
    chosen = [
        p
        for p in known.values()
        if p.parent == query.get("parent", p.parent) and p.kind == query.get("kind", p.kind)
    ]
    return {"items": [present_place(p, known) for p in chosen]}


@blp.route("/places/<code>", methods=["GET"])
@operation(blp, roles=None, problems=("not_found",))
@blp.response(200, PlaceOut)
def get_place(code: str) -> dict[str, Any]:
    """One place (public), with its path from the county."""
    place = places.get_place(books(), code)
    return present_place(place, read(lambda repo: places.load_places(repo.conn)))
