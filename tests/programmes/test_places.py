"""Places: counties (GB/T 2260) -> towns -> villages, projects at a place, roll-ups."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Books, Caller
from usecases.places import Place, roll_up

LUHUO, XINDU, JIAONA = "513327", "513327100", "513327100201"


def test_places_are_listed_publicly_counties_first_with_their_path(
    placed: list[dict[str, Any]], anonymous: Caller
) -> None:
    items = anonymous.get("/api/v1/places").get_json()["items"]
    assert len(items) == len(placed)
    assert [i["kind"] for i in items[:3]] == ["county"] * 3
    jiaona = anonymous.get(f"/api/v1/places/{JIAONA}").get_json()
    assert jiaona["path"] == ["炉霍县", "新都镇", "交纳村"]
    assert jiaona["official"] is False
    towns = anonymous.get("/api/v1/places", query_string={"parent": "510185"}).get_json()
    assert [t["name"] for t in towns["items"]] == ["镇金镇", "踏水镇"]


def test_a_town_whose_code_is_not_under_its_county_is_refused_and_nothing_is_added(
    placed: list[dict[str, Any]], admin: Caller, anonymous: Caller
) -> None:
    wrong = {"code": "510185999", "kind": "town", "parent": LUHUO, "name": "错镇"}
    response = admin.post("/api/v1/places", wrong)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["code"]
    orphan = {"code": "513327999001", "kind": "village", "parent": "513327999", "name": "无村"}
    assert admin.post("/api/v1/places", orphan).status_code == 422
    assert anonymous.get("/api/v1/places/510185999").status_code == 404
    again = admin.post("/api/v1/places", {"code": LUHUO, "kind": "county", "name": "炉霍县"})
    assert again.get_json()["code"] == "already_exists"


def test_a_project_opened_at_a_village_takes_its_county_and_town_from_the_place(
    placed: list[dict[str, Any]], admin: Caller, books: Books
) -> None:
    body = {"code": "JN-CLINIC", "name": "交纳村卫生室", "fund": books.restricted, "place": JIAONA}
    project = admin.created("/api/v1/projects", body)
    assert (project["county"], project["town"], project["place"]) == ("炉霍县", "新都镇", JIAONA)
    listed = {p["code"]: p["place"] for p in admin.get("/api/v1/projects").get_json()["items"]}
    # The fixture's project names only "炉霍县": it is placed at the county by its text.
    assert listed == {"JN-CLINIC": JIAONA, books.project: LUHUO}


def test_a_project_at_a_place_that_does_not_exist_is_an_unknown_place(
    admin: Caller, books: Books
) -> None:
    body = {"code": "X-1", "name": "x", "fund": books.restricted, "place": "513327999"}
    response = admin.post("/api/v1/projects", body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "unknown_place"
    assert admin.get("/api/v1/projects/X-1").status_code == 404


def test_a_project_needs_a_county_or_a_place(admin: Caller, books: Books) -> None:
    response = admin.post("/api/v1/projects", {"code": "X-2", "name": "x", "fund": "JLZX"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["county"]


def test_village_and_town_figures_sum_to_the_county_figure() -> None:
    known = {
        p.code: p
        for p in (
            Place(LUHUO, "county", "炉霍县"),
            Place(XINDU, "town", "新都镇", parent=LUHUO),
            Place("513327212", "town", "宗麦乡", parent=LUHUO),
            Place(JIAONA, "village", "交纳村", parent=XINDU),
        )
    }
    direct = {JIAONA: {"spent": 700}, XINDU: {"spent": 50}, LUHUO: {"spent": 5}, "9": {"x": 1}}
    totals = roll_up(known, direct)
    assert totals[JIAONA] == {"spent": 700}
    assert totals[XINDU] == {"spent": 750}
    assert totals["513327212"] == {}
    assert totals[LUHUO]["spent"] == 755
    assert "9" not in totals
