"""Campaigns over HTTP: created, given to with a matcher, reversed, shown on their page."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from tests.api.conftest import TODAY, Books, Caller, donation

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def campaign_body(books: Books, **fields: Any) -> dict[str, Any]:
    return {
        "slug": "luhuo-yak",
        "fund": books.restricted,
        "project": books.project,
        "title_zh": "炉霍牦牛合作社众筹",
        "title_en": "Luhuo yak cooperative",
        "story_zh": "卡娘乡的牧民合作社需要一座暖棚。",
        "goal": {"amount": "10000.00", "currency": "CNY"},
        "starts_on": (TODAY - dt.timedelta(days=10)).isoformat(),
        "ends_on": (TODAY + dt.timedelta(days=20)).isoformat(),
        "status": "open",
        **fields,
    }


def with_matcher(admin: Caller, officer: Caller, books: Books, cap: str = "1500.00") -> str:
    """A firm's pledge of 2,000.00 to the fund, matching 1:1 up to `cap`; the firm's id."""
    firm = officer.created(
        "/api/v1/donors", {"name": "成都配捐科技有限公司", "kind": "organisation"}
    )
    pledge = officer.created(
        "/api/v1/pledges",
        {"donor_id": firm["id"], "fund": books.restricted, "amount": "2000.00", "currency": "CNY"},
    )
    officer.created(
        "/api/v1/campaigns/luhuo-yak/matcher",
        {"pledge_id": pledge["id"], "ratio": "1:1", "cap": {"amount": cap, "currency": "CNY"}},
    )
    return str(firm["id"])


def test_gifts_are_matched_up_to_the_cap_and_progress_is_what_the_books_say(
    admin: Caller, officer: Caller, anonymous: Caller, books: Books
) -> None:
    officer.created("/api/v1/campaigns", campaign_body(books))
    firm = with_matcher(admin, officer, books)
    first = officer.created("/api/v1/donations", donation(books, "1000.00", campaign="luhuo-yak"))
    assert first["campaign"] == "luhuo-yak"
    assert first["matched"]["amount"] == "1000.00"
    assert first["matched"]["donor_id"] == firm
    assert first["matched"]["receipt"]["serial"] != first["receipt"]["serial"]
    second = officer.created("/api/v1/donations", donation(books, "800.00", campaign="luhuo-yak"))
    assert second["matched"]["amount"] == "500.00"  # the cap's remainder
    third = officer.created("/api/v1/donations", donation(books, "200.00", campaign="luhuo-yak"))
    assert third["matched"] is None
    untagged = officer.created("/api/v1/donations", donation(books, "300.00"))
    assert untagged["campaign"] is None and untagged["matched"] is None
    reversal = officer.post(f"/api/v1/entries/{third['id']}/reversal", {"reason": "bounced"})
    assert reversal.status_code == 201, reversal.get_json()
    shown = officer.get("/api/v1/campaigns/luhuo-yak").get_json()
    assert shown["progress"]["gifts"]["amount"] == "1800.00"
    assert shown["progress"]["matched"]["amount"] == "1500.00"
    assert shown["progress"]["raised"]["amount"] == "3300.00"
    assert shown["progress"]["donors"] == 1
    assert shown["progress"]["percent"] == 33
    page = anonymous.get("/c/luhuo-yak")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "¥3,300.00" in html and "¥10,000.00" in html and "¥1,500.00" in html
    assert "成都某公司" in html  # the donor did not ask to be anonymous
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]


def test_a_gift_for_an_unknown_or_draft_campaign_is_refused_and_nothing_is_posted(
    officer: Caller, books: Books
) -> None:
    officer.created("/api/v1/campaigns", campaign_body(books, status="draft"))
    before = len(officer.get("/api/v1/donations").get_json()["items"])
    for slug in ("luhuo-yak", "nothing-here"):
        response = officer.post("/api/v1/donations", donation(books, campaign=slug))
        assert response.status_code == 422
        assert response.get_json()["code"] == "unknown_campaign"
    late = donation(
        books, campaign="luhuo-yak", received_on=(TODAY - dt.timedelta(days=30)).isoformat()
    )
    assert len(officer.get("/api/v1/donations").get_json()["items"]) == before
    edit = officer.client.patch(
        "/api/v1/campaigns/luhuo-yak", json={"status": "open"}, headers=officer.headers()
    )
    assert edit.status_code == 200 and edit.get_json()["phase"] == "running"
    assert officer.post("/api/v1/donations", late).get_json()["code"] == "unknown_campaign"


def test_a_campaign_that_ended_short_keeps_its_gifts_and_says_so(
    officer: Caller, anonymous: Caller, books: Books
) -> None:
    start, end = TODAY - dt.timedelta(days=40), TODAY - dt.timedelta(days=10)
    body = campaign_body(books, starts_on=start.isoformat(), ends_on=end.isoformat())
    officer.created("/api/v1/campaigns", body)
    gift = donation(
        books,
        "2500.00",
        campaign="luhuo-yak",
        received_on=(start + dt.timedelta(days=1)).isoformat(),
    )
    officer.created("/api/v1/donations", gift)
    shown = officer.get("/api/v1/campaigns/luhuo-yak").get_json()
    assert (shown["phase"], shown["short_of_goal"]) == ("ended", True)
    assert shown["progress"]["raised"]["amount"] == "2500.00"
    html = anonymous.get("/c/luhuo-yak").get_data(as_text=True)
    assert "ended short of its goal" in html and "锦炉爱心助学基金" in html


def test_updates_with_photos_appear_on_the_page_and_a_non_image_is_refused(
    officer: Caller, anonymous: Caller, books: Books
) -> None:
    officer.created("/api/v1/campaigns", campaign_body(books))
    uploaded = officer.client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(PNG), "shed.png")},
        headers=officer.headers(),
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    digest = uploaded.get_json()["sha256"]
    fake = officer.client.post(
        "/api/v1/photos",
        data={"file": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")},
        headers=officer.headers(),
        content_type="multipart/form-data",
    )
    assert fake.status_code == 422
    update = {"body_zh": "暖棚已封顶。", "body_en": "The shed has its roof.", "photos": [digest]}
    officer.created("/api/v1/campaigns/luhuo-yak/updates", update)
    html = anonymous.get("/c/luhuo-yak").get_data(as_text=True)
    assert "暖棚已封顶。" in html and f"/c/photos/{digest}" in html
    photo = anonymous.get(f"/c/photos/{digest}")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == PNG


def test_an_anonymous_donor_is_never_named_on_the_wall(
    officer: Caller, anonymous: Caller, books: Books
) -> None:
    officer.created("/api/v1/campaigns", campaign_body(books))
    shy = officer.created(
        "/api/v1/donors", {"name": "不愿具名的王先生", "kind": "person", "anonymous": True}
    )
    officer.created(
        "/api/v1/donations", {**donation(books, campaign="luhuo-yak"), "donor_id": shy["id"]}
    )
    html = anonymous.get("/c/luhuo-yak").get_data(as_text=True)
    assert "不愿具名的王先生" not in html and "匿名爱心人士" in html
    assert anonymous.get("/c/nothing-here").status_code == 404


def test_a_campaign_posted_twice_with_one_key_is_created_once(
    officer: Caller, books: Books
) -> None:
    first = officer.post("/api/v1/campaigns", campaign_body(books), key="drive-1")
    again = officer.post("/api/v1/campaigns", campaign_body(books), key="drive-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json()["slug"] == first.get_json()["slug"]
    other = officer.post(
        "/api/v1/campaigns",
        campaign_body(books, goal={"amount": "1.00", "currency": "CNY"}),
        key="drive-1",
    )
    assert other.get_json()["code"] == "idempotency_conflict"
    update = {"body_zh": "进展。"}
    one = officer.post("/api/v1/campaigns/luhuo-yak/updates", update, key="u-1").get_json()
    two = officer.post("/api/v1/campaigns/luhuo-yak/updates", update, key="u-1").get_json()
    assert one["id"] == two["id"]


def test_a_reversed_gift_leaves_its_match_standing_and_the_page_says_so(
    admin: Caller, officer: Caller, anonymous: Caller, books: Books
) -> None:
    """Decision 0015: the matcher's money was received, so reversing the matched gift does not
    reverse the match; progress stays what the books say, and the page explains the match."""
    officer.created("/api/v1/campaigns", campaign_body(books))
    with_matcher(admin, officer, books)
    gift = officer.created("/api/v1/donations", donation(books, "600.00", campaign="luhuo-yak"))
    kept = officer.created("/api/v1/donations", donation(books, "400.00", campaign="luhuo-yak"))
    assert (gift["matched"]["amount"], kept["matched"]["amount"]) == ("600.00", "400.00")
    reversal = officer.post(f"/api/v1/entries/{gift['id']}/reversal", {"reason": "bounced"})
    assert reversal.status_code == 201, reversal.get_json()
    progress = officer.get("/api/v1/campaigns/luhuo-yak").get_json()["progress"]
    assert progress["gifts"]["amount"] == "400.00"
    assert progress["matched"]["amount"] == "1000.00"  # both matches stand
    assert progress["matched_for_reversed"]["amount"] == "600.00"
    assert progress["raised"]["amount"] == "1400.00"  # 400 + 600 + 400: the cash received
    html = anonymous.get("/c/luhuo-yak").get_data(as_text=True)
    assert 'id="matched-for-reversed"' in html and "¥600.00" in html
    # The cap still counts the standing match: 1,000 of 1,500 used, so 500 is left.
    third = officer.created("/api/v1/donations", donation(books, "900.00", campaign="luhuo-yak"))
    assert third["matched"]["amount"] == "500.00"
    # Should the firm be refunded, an officer reverses the match itself; then it is gone.
    match_id = gift["matched"]["id"]
    undone = officer.post(f"/api/v1/entries/{match_id}/reversal", {"reason": "refunded"})
    assert undone.status_code == 201, undone.get_json()
    progress = officer.get("/api/v1/campaigns/luhuo-yak").get_json()["progress"]
    assert progress["matched"]["amount"] == "900.00"
    assert progress["matched_for_reversed"]["amount"] == "0.00"
    assert progress["raised"]["amount"] == "2200.00"  # 400 + 900 + 400 + 500
    assert 'id="matched-for-reversed"' not in anonymous.get("/c/luhuo-yak").get_data(as_text=True)
