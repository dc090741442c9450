"""Officers' programme pages: a campaign created and given to through the console forms, a
matcher, an update, an honorary chief and the chief's summary; each through the API's use case."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from ledger.money import Money
from tests.console.conftest import TODAY, Seeded, csrf_of, key_of, post_form, sign_in
from usecases import campaigns, places, pledges, reference
from usecases.unit import SYSTEM

PLACES = Path(__file__).parents[2] / "cli" / "demo_data" / "places.json"


@pytest.fixture
def officer(client: FlaskClient, users: dict[str, str], seeded: Seeded, app: Flask) -> FlaskClient:
    books = app.extensions["huiquan"].books
    places.ensure_places(books, json.loads(PLACES.read_text())["places"], by=SYSTEM)
    assert sign_in(client, users["officer"]).status_code == 302
    return client


def test_an_officer_runs_a_campaign_with_a_matcher_and_appoints_a_chief(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    created = post_form(
        officer,
        "/console/campaigns/new",
        {
            "slug": "jiaona-clinic",
            "fund": seeded.restricted,
            "project": seeded.project,
            "place": "513327100201",
            "title_zh": "交纳村卫生室众筹",
            "title_en": "Jiaona village clinic",
            "goal": "20000.00",
            "currency": "CNY",
            "starts_on": (TODAY - dt.timedelta(days=1)).isoformat(),
            "ends_on": (TODAY + dt.timedelta(days=30)).isoformat(),
            "status": "open",
        },
    )
    assert created.status_code == 200, created.get_data(as_text=True)
    assert "/c/jiaona-clinic" in created.get_data(as_text=True)
    firm = pledges.record_pledge(
        books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse("5000.00", "CNY"),
        pledged_on=TODAY,
    ).pledge
    bad = post_form(
        officer,
        "/console/campaigns/matcher",
        {
            "slug": "jiaona-clinic",
            "pledge_id": firm.id,
            "ratio": "one",
            "cap": "3000.00",
            "currency": "CNY",
        },
    )
    assert bad.status_code == 422 and "1:1" in bad.get_data(as_text=True)
    matcher = post_form(
        officer,
        "/console/campaigns/matcher",
        {
            "slug": "jiaona-clinic",
            "pledge_id": firm.id,
            "ratio": "1:2",
            "cap": "3000.00",
            "currency": "CNY",
        },
    )
    assert matcher.status_code == 200, matcher.get_data(as_text=True)
    giver = reference.register_donor(books, name="锦江区某居民", kind="person").id
    gift = post_form(
        officer,
        "/console/gifts/new",
        {
            "donor_id": giver,
            "fund": seeded.restricted,
            "amount": "1000.00",
            "currency": "CNY",
            "received_on": TODAY.isoformat(),
            "method": "bank",
            "campaign": "jiaona-clinic",
        },
    )
    text = gift.get_data(as_text=True)
    assert gift.status_code == 200, text
    assert "众筹配捐方的配捐" in text  # the matched gift, shown with its own receipt
    assert len(set(re.findall(r"HQ-\d{4}-\d{6}", text))) == 2
    with books.engine.connect() as conn:
        progress = campaigns.progress_of(conn, campaigns.load_campaign(conn, "jiaona-clinic"))  # type: ignore[arg-type]
    assert (progress.gifts_minor, progress.matched_minor) == (100_000, 50_000)  # 1:2
    update = post_form(
        officer, "/console/campaigns/update", {"slug": "jiaona-clinic", "body_zh": "地基已完工。"}
    )
    assert update.status_code == 200
    chief = post_form(
        officer,
        "/console/chiefs/new",
        {
            "village": "513327100201",
            "donor_id": seeded.donor,
            "starts_on": f"{TODAY.year}-01-01",
            "ends_on": f"{TODAY.year + 1}-12-31",
            "citation_zh": "捐建交纳村卫生室。",
            "shown": "name",
        },
    )
    assert chief.status_code == 200, chief.get_data(as_text=True)
    listing = officer.get("/console/programmes")
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200 and "交纳村卫生室众筹" in page and "交纳村" in page
    pdf_link = re.search(r'href="(/console/chiefs/[^"]+\.pdf)"', page)
    assert pdf_link
    pdf = officer.get(pdf_link.group(1))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    edited = post_form(
        officer, "/console/campaigns/edit", {"slug": "jiaona-clinic", "status": "closed"}
    )
    assert edited.status_code == 200
    assert campaigns.get_campaign(books, "jiaona-clinic").status == "closed"
    public = officer.get("/c/jiaona-clinic").get_data(as_text=True)
    assert "地基已完工。" in public
    landing = officer.get("/").get_data(as_text=True)
    assert 'href="/c/jiaona-clinic"' in landing and 'href="/v/513327100201"' in landing


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def _upload(client: FlaskClient, path: str, data: dict[str, Any]) -> Any:
    """GET the form (its CSRF token and key), then POST `data` as multipart with them (files as
    (bytes, name) pairs, or lists of them); the body is built in memory, not spooled."""
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    items = MultiDict({"csrf_token": csrf_of(page), "_key": key_of(page)})
    for name, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, tuple):
                one = FileStorage(io.BytesIO(one[0]), filename=one[1])
            items.add(name, one)
    boundary, body = encode_multipart(items)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_an_officer_uploads_a_cover_and_update_photos_judged_by_their_bytes(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    campaigns.create_campaign(
        books,
        by=SYSTEM,
        slug="yak-shed",
        fund=seeded.restricted,
        title_zh="牦牛暖棚",
        goal=Money.parse("10000.00", "CNY"),
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=30),
        status="open",
    )
    # A file that says it is a PNG but is not an image: refused beside the field, nothing kept.
    fake = _upload(
        officer,
        "/console/campaigns/edit",
        {"slug": "yak-shed", "cover": (b"<svg onload=alert(1)>", "cover.png")},
    )
    assert fake.status_code == 422
    html = fake.get_data(as_text=True)
    assert 'id="e-cover"' in html and "请选择不超过 5 MiB 的 PNG、JPEG 或 WebP 图片。" in html
    assert campaigns.get_campaign(books, "yak-shed").cover in ("", None)
    # Too large: the same clear error (the request itself is within the form's limit).
    big = PNG + b"\x00" * campaigns.PHOTO_LIMIT
    large = _upload(
        officer,
        "/console/campaigns/edit",
        {"slug": "yak-shed", "cover": (big, "b.png")},
    )
    assert large.status_code == 422 and 'id="e-cover"' in large.get_data(as_text=True)
    # A real PNG becomes the cover, shown on the public page.
    cover = _upload(
        officer,
        "/console/campaigns/edit",
        {"slug": "yak-shed", "cover": (PNG, "c.png")},
    )
    assert cover.status_code == 200, cover.get_data(as_text=True)
    digest = hashlib.sha256(PNG).hexdigest()
    assert campaigns.get_campaign(books, "yak-shed").cover == digest
    page = officer.get("/c/yak-shed").get_data(as_text=True)
    assert f'src="/c/photos/{digest}"' in page
    served = officer.get(f"/c/photos/{digest}")
    assert served.status_code == 200 and served.data == PNG
    # An update with two photos (a PNG and a JPEG); then one with a bad file is refused whole.
    update = _upload(
        officer,
        "/console/campaigns/update",
        {
            "slug": "yak-shed",
            "body_zh": "暖棚封顶。",
            "photos": [(PNG, "a.png"), (JPEG, "b.jpg")],
        },
    )
    assert update.status_code == 200, update.get_data(as_text=True)
    bad = _upload(
        officer,
        "/console/campaigns/update",
        {
            "slug": "yak-shed",
            "body_zh": "不应发布。",
            "photos": [(b"%PDF-1.4", "x.png")],
        },
    )
    assert bad.status_code == 422 and 'id="e-photos"' in bad.get_data(as_text=True)
    too_many = _upload(
        officer,
        "/console/campaigns/update",
        {
            "slug": "yak-shed",
            "body_zh": "太多照片。",
            "photos": [(PNG, f"{n}.png") for n in range(campaigns.UPDATE_PHOTOS + 1)],
        },
    )
    assert too_many.status_code == 422 and "最多选择 9 张照片。" in too_many.get_data(as_text=True)
    page = officer.get("/c/yak-shed").get_data(as_text=True)
    assert "暖棚封顶。" in page and "不应发布。" not in page and "太多照片。" not in page
    jpeg = hashlib.sha256(JPEG).hexdigest()
    assert f"/c/photos/{jpeg}" in page
    # Without the CSRF token nothing is kept.
    refused = officer.post(
        "/console/campaigns/update",
        data={"slug": "yak-shed", "body_zh": "x", "photos": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
