"""Honorary village chiefs, the village page, its annual summary, and the roll-ups by place."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from tests.api.conftest import TODAY, Books, Caller, disbursement, donation
from usecases.chiefs import place_figures
from usecases.places import load_places

LUHUO, XINDU, JIAONA, ZONGMAI, SANGUO = (
    "513327",
    "513327100",
    "513327100201",
    "513327212",
    "513327212001",
)


def _projects_and_spending(admin: Caller, officer: Caller, books: Books) -> None:
    """Projects at a village, a town and the county; money given and spent on each."""
    for code, place, budget in (
        ("JN-CLINIC", JIAONA, "820000.00"),
        ("SG-YAK", SANGUO, "50000.00"),
        ("XD-MUSHROOM", XINDU, "217000.00"),
    ):
        body = {"code": code, "name": f"项目{code}", "fund": books.restricted, "place": place}
        admin.created("/api/v1/projects", {**body, "budget": {"amount": budget, "currency": "CNY"}})
    officer.created("/api/v1/donations", donation(books, "9000.00"))
    for project, amount in (
        ("JN-CLINIC", "3000.00"),
        ("SG-YAK", "1200.00"),
        ("XD-MUSHROOM", "800.00"),
    ):
        officer.created("/api/v1/disbursements", disbursement(books, amount, project=project))
    officer.created("/api/v1/disbursements", disbursement(books, "500.00"))  # LUHUO-EDU: county


def test_village_and_town_figures_sum_to_the_county_figures(
    placed: list[dict[str, Any]], admin: Caller, officer: Caller, books: Books, app: Flask
) -> None:
    _projects_and_spending(admin, officer, books)
    officer.created(
        "/api/v1/campaigns",
        {
            "slug": "sanguo-yak",
            "fund": books.restricted,
            "project": "SG-YAK",
            "title_zh": "三果村牦牛",
            "goal": {"amount": "50000.00", "currency": "CNY"},
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "status": "open",
        },
    )
    officer.created("/api/v1/donations", donation(books, "700.00", campaign="sanguo-yak"))
    with app.extensions["huiquan"].engine.connect() as conn:
        figures, known = place_figures(conn), load_places(conn)
    assert figures[JIAONA]["spent"] == 300_000
    assert figures[SANGUO] == {
        "projects": 1,
        "budget": 5_000_000,
        "spent": 120_000,
        "raised": 70_000,
    }
    assert figures[XINDU]["spent"] == 300_000 + 80_000
    assert figures[LUHUO]["spent"] == 300_000 + 120_000 + 80_000 + 50_000
    # What sits at each place itself (the model), then: every place's figure is its own plus
    # its children's, so the villages and towns add up to the county.
    own = {
        JIAONA: {"spent": 300_000, "budget": 82_000_000, "projects": 1},
        SANGUO: {"spent": 120_000, "budget": 5_000_000, "projects": 1, "raised": 70_000},
        XINDU: {"spent": 80_000, "budget": 21_700_000, "projects": 1},
        LUHUO: {"spent": 50_000, "projects": 1},
    }
    for code in known:
        children = [p for p in known.values() if p.parent == code]
        for name in ("spent", "raised", "budget", "projects"):
            below = sum(figures[c.code][name] for c in children)
            assert figures[code][name] == own.get(code, {}).get(name, 0) + below, (code, name)
    assert figures[ZONGMAI]["raised"] == figures[LUHUO]["raised"] == 70_000


def test_a_chief_is_shown_as_they_chose_on_the_village_page_and_gets_a_summary(
    placed: list[dict[str, Any]], admin: Caller, officer: Caller, anonymous: Caller, books: Books
) -> None:
    _projects_and_spending(admin, officer, books)
    shy = officer.created("/api/v1/donors", {"name": "低调的李女士", "kind": "person"})
    term = {"starts_on": f"{TODAY.year}-01-01", "ends_on": f"{TODAY.year + 2}-12-31"}
    named = officer.created(
        "/api/v1/chiefs",
        {"village": JIAONA, "donor_id": books.donor, **term, "citation_zh": "捐建交纳村卫生室。"},
    )
    assert named["public_name"] == "成都某公司"
    hidden = officer.created(
        "/api/v1/chiefs",
        {
            "village": JIAONA,
            "donor_id": shy["id"],
            **term,
            "citation_zh": "资助乡村医生培训。",
            "shown": "anonymous",
        },
    )
    assert hidden["public_name"] is None
    again = officer.post(
        "/api/v1/chiefs",
        {"village": JIAONA, "donor_id": shy["id"], **term, "citation_zh": "x"},
    )
    assert again.status_code == 409
    town = officer.post(
        "/api/v1/chiefs",
        {"village": XINDU + "000", "donor_id": shy["id"], **term, "citation_zh": "x"},
    )
    assert town.status_code == 404
    page = anonymous.get(f"/v/{JIAONA}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "成都某公司" in html and "捐建交纳村卫生室。" in html
    assert "低调的李女士" not in html and "资助乡村医生培训。" in html
    assert "¥3,000.00" in html and "项目JN-CLINIC" in html
    county = anonymous.get(f"/v/{LUHUO}").get_data(as_text=True)
    assert f'href="/v/{XINDU}"' in county and "¥5,500.00" in county
    pdf = officer.get(f"/api/v1/chiefs/{named['id']}/summary/{TODAY.year}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    assert officer.get(f"/api/v1/chiefs/none/summary/{TODAY.year}").status_code == 404
    listed = officer.get("/api/v1/chiefs", query_string={"village": JIAONA}).get_json()["items"]
    assert [c["id"] for c in listed] == [named["id"], hidden["id"]]
    assert anonymous.get("/v/999999").status_code == 404
    assert dt.date.fromisoformat(named["ends_on"]).year == TODAY.year + 2
