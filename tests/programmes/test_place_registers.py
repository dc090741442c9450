"""The disbursement register rolls up by county, town and village (the project's place), and
its JSON, CSV and PDF exports and the audit bundle's re-derivation agree."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask

from audits.bundle import write_bundle_file
from audits.verify import check_bundle
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from tests.api.conftest import Books, Caller
from tests.programmes.test_chiefs import (
    JIAONA,
    LUHUO,
    SANGUO,
    XINDU,
    ZONGMAI,
    _projects_and_spending,
)


def _register(caller: Caller, fmt: str = "json") -> Any:
    answer = caller.get("/api/v1/statements/disbursements", query_string={"format": fmt})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer


def test_town_and_village_totals_add_up_to_the_county_totals(
    placed: list[dict[str, Any]],
    admin: Caller,
    officer: Caller,
    auditor: Caller,
    books: Books,
    app: Flask,
    tmp_path: Path,
) -> None:
    _projects_and_spending(admin, officer, books)
    body = _register(auditor).get_json()
    assert body["checks"] == []
    rows = body["rows"]
    by_group: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_group[row["group"]].append(row)

    def amount(row: dict[str, Any]) -> Decimal:
        return Decimal(row["amount"])

    # Each payment and project row carries its place: names from the place and its parents.
    clinic = next(r for r in by_group["project"] if r["project"] == "JN-CLINIC")
    assert (clinic["county"], clinic["town"], clinic["village"], clinic["place"]) == (
        "炉霍县",
        "新都镇",
        "交纳村",
        JIAONA,
    )
    assert {r["place"] for r in by_group["payment"] if r["project"] == "SG-YAK"} == {SANGUO}
    villages = {r["place"]: amount(r) for r in by_group["village"] if r["village"]}
    assert villages == {JIAONA: Decimal("3000.00"), SANGUO: Decimal("1200.00")}
    towns = {r["place"]: amount(r) for r in by_group["town"] if r["town"]}
    assert towns == {XINDU: Decimal("3800.00"), ZONGMAI: Decimal("1200.00")}
    [county] = [r for r in by_group["county"] if r["county"] == "炉霍县"]
    assert (county["place"], amount(county)) == (LUHUO, Decimal("5500.00"))
    # What sits at the county itself (LUHUO-EDU) is the town row without a town name.
    at_county = [r for r in by_group["town"] if r["county"] == "炉霍县" and not r["town"]]
    assert [amount(r) for r in at_county] == [Decimal("500.00")]
    # The partition: towns add up to their county, villages to their town, for every figure.
    figures = ("amount", "payments", "acknowledged", "acknowledged_amount")
    for upper, lower, depth in (("county", "town", 1), ("town", "village", 2)):
        keys = ("county", "town", "village")[:depth]
        for parent in by_group[upper]:
            children = [r for r in by_group[lower] if all(r[k] == parent[k] for k in keys)]
            assert children, parent
            for name in figures:
                assert sum(Decimal(str(r[name])) for r in children) == Decimal(str(parent[name])), (
                    upper,
                    parent,
                    name,
                )
    [total] = by_group["total"]
    assert sum(amount(r) for r in by_group["county"]) == amount(total)

    # The CSV has the same rows and columns; the PDF renders them.
    table = list(csv.DictReader(io.StringIO(_register(auditor, "csv").get_data(as_text=True))))
    assert [(r["group"], r["place"], r["amount"]) for r in table] == [
        (r["group"], r["place"], r["amount"]) for r in rows
    ]
    assert _register(auditor, "pdf").data.startswith(b"%PDF-")

    # The audit bundle carries the places and re-derives the same register offline.
    home = tmp_path / "keys"
    home.mkdir()
    path = tmp_path / "bundle.zip"
    engine = app.extensions["huiquan"].engine
    write_bundle_file(
        engine,
        path,
        period=str(int(rows[0]["paid_on"][:4])),
        key=ensure_signing_key(home),
        trusted=trusted_vkeys(home),
    )
    report = check_bundle(path, trusted_vkeys(home))
    assert report.findings == [], report.lines()
    assert report.statements > 0
