"""The audit bundle carries the open data and the audit events, and its check verifies the
events' hash chain against the heads the checkpoints recorded."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from lxml import etree

from audits.bundle import write_bundle_file
from audits.opendata import GRANTS_HEADER
from audits.verify import check_bundle
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from ledger.trail import record_event
from tests.audits.worked import CANARY_STRINGS

ORG_REF = "CN-USCC-91510104MA62N8Q0XU"


@pytest.fixture
def home(tmp_path):
    ensure_signing_key(tmp_path)
    return tmp_path


def _events(engine, n: int) -> None:
    for i in range(n):
        with UnitOfWork(engine) as uow:
            record_event(
                uow.connection,
                actor=f"officer{i}",
                role="officer",
                action="donation.record",
                target=f"E-{i}",
                outcome="success",
                status=201,
            )
            uow.commit()


def _bundle(engine, home):
    path = home / "bundle.zip"
    manifest = write_bundle_file(
        engine,
        path,
        period="2026",
        key=ensure_signing_key(home),
        trusted=trusted_vkeys(home),
        org_name="测试公益服务中心（演示）",
        org_ref=ORG_REF,
    )
    return path, manifest


def _rewrite(path, name: str, data: bytes) -> None:
    """Replace one member and fix its manifest sum, as a careful forger would."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files[name] = data
    manifest = json.loads(files["manifest.json"])
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, content in files.items():
            zf.writestr(n, content)


def test_the_bundle_carries_open_data_and_events_and_the_check_holds(engine, worked, home):
    _events(engine, 3)
    path, manifest = _bundle(engine, home)
    names = set(manifest["files"])
    assert {"events.jsonl", "opendata/iati-activities.xml", "opendata/grants-360giving.csv"} <= (
        names
    )
    with zipfile.ZipFile(path) as zf:
        xml = zf.read("opendata/iati-activities.xml")
        grants = zf.read("opendata/grants-360giving.csv").decode("utf-8")
        events = [json.loads(line) for line in zf.read("events.jsonl").splitlines()]
    assert etree.fromstring(xml).find("iati-activity/reporting-org").get("ref") == ORG_REF
    assert next(csv.reader(io.StringIO(grants))) == GRANTS_HEADER
    assert [e["sequence"] for e in events] == [1, 2, 3]
    assert all(s not in grants and s.encode() not in xml for s in CANARY_STRINGS)
    report = check_bundle(path, trusted_vkeys(home))
    assert report.findings == [], report.lines()
    assert report.events == 3
    assert "3 audit events" in report.lines()[-1]


def test_an_altered_audit_event_is_found_even_with_a_fixed_manifest(engine, worked, home):
    _events(engine, 3)
    path, _ = _bundle(engine, home)
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").splitlines()
    event = json.loads(lines[1])
    event["actor"] = "someone-else"
    lines[1] = json.dumps(event, sort_keys=True).encode()
    _rewrite(path, "events.jsonl", b"\n".join(lines) + b"\n")
    report = check_bundle(path, trusted_vkeys(home))
    assert {f.check for f in report.findings} == {"audit-hash"}


def test_a_deleted_tail_of_audit_events_is_found_by_the_checkpoints_record(engine, worked, home):
    _events(engine, 3)
    path, _ = _bundle(engine, home)
    with zipfile.ZipFile(path) as zf:
        lines = zf.read("events.jsonl").splitlines()
    _rewrite(path, "events.jsonl", b"\n".join(lines[:2]) + b"\n")
    report = check_bundle(path, trusted_vkeys(home))
    assert "audit-truncated" in {f.check for f in report.findings}
