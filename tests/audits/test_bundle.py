"""The audit bundle, checked offline: an honest one holds; each kind of tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest

from audits.bundle import write_bundle_file
from audits.verify import check_bundle
from ledger.chain import GENESIS, canonical_bytes, chain_hash, leaf_hash_hex
from ledger.tlog.checkpoints import Checkpoint, SigningKey
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from ledger.tlog.merkle import root_from_leaf_hashes
from ledger.tlog.proofs import make_checkpoint
from tests.builders import Books


@pytest.fixture
def home(tmp_path):
    ensure_signing_key(tmp_path)
    return tmp_path


def _bundle(engine, home, name="bundle.zip"):
    path = home / name
    manifest = write_bundle_file(
        engine, path, period="2026", key=ensure_signing_key(home), trusted=trusted_vkeys(home)
    )
    return path, manifest


def _checks(report):
    return {f.check for f in report.findings}


@pytest.mark.parametrize("name", ["bundle.zip", "bundle.tar.gz"])
def test_an_honest_bundle_holds_with_the_trusted_key(engine, worked, home, name):
    with engine.begin() as conn:
        make_checkpoint(conn, ensure_signing_key(home))  # an earlier checkpoint ...
    Books(engine).donate("10", donor=worked.anon, fund="GENERAL")  # ... then one more entry
    path, manifest = _bundle(engine, home, name)
    assert manifest["warnings"] == []
    report = check_bundle(path, trusted_vkeys(home))
    assert report.findings == [], report.lines()
    assert report.checkpoints == 2 and report.entries == manifest["journal_size"]
    assert report.statements == 7 * 4
    names = set(manifest["files"])
    assert {"journal.jsonl", "postings.csv", "reference.json", "keys/trusted.vkeys"} <= names
    assert any(n.startswith("proofs/consistency-") for n in names)
    assert "statements/activities-LUHUO.csv" in names


def test_without_trusted_keys_the_check_says_it_trusted_the_bundle(engine, worked, home):
    path, _ = _bundle(engine, home)
    report = check_bundle(path)
    assert report.ok and report.trusted_from_bundle
    assert any("proves only" in n for n in report.notes)


def test_a_row_altered_behind_the_triggers_is_found(engine, worked, home, behind_triggers):
    with engine.begin() as conn:
        make_checkpoint(conn, ensure_signing_key(home))
    behind_triggers(
        "UPDATE postings SET amount = amount * 2, functional = functional * 2 WHERE sequence = 3"
    )
    path, _ = _bundle(engine, home)
    report = check_bundle(path, trusted_vkeys(home))
    assert {"leaf", "hash", "checkpoint-root"} <= _checks(report)
    assert report.findings[0].sequence == 3
    assert not report.ok


def test_a_deleted_tail_of_the_log_is_found(engine, worked, home, behind_triggers):
    with engine.begin() as conn:
        size = make_checkpoint(conn, ensure_signing_key(home)).size
    behind_triggers(f"DELETE FROM postings WHERE sequence > {size - 3}")
    behind_triggers(f"DELETE FROM journal_entries WHERE sequence > {size - 3}")
    behind_triggers(f"UPDATE chain_head SET sequence = {size - 3}")
    path, manifest = _bundle(engine, home)
    assert any("entries were deleted" in w for w in manifest["warnings"])
    report = check_bundle(path, trusted_vkeys(home))
    truncated = [f for f in report.findings if f.check == "truncated"]
    assert truncated and truncated[0].sequence == size - 2
    assert "deleted" in truncated[0].detail


def _forge(path, forger: SigningKey):
    """Rewrite a bundle as a forger would: change a gift, re-hash everything, re-sign."""
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    records = [json.loads(line) for line in files["journal.jsonl"].decode().splitlines()]
    records[1]["entry"]["postings"][0]["amount"] += 100
    records[1]["entry"]["postings"][1]["amount"] -= 100
    prev, leaves = GENESIS, []
    for record in records:
        canonical = canonical_bytes(record["entry"])
        record["prev_hash"], record["hash"] = prev, chain_hash(prev, canonical)
        record["leaf_hash"] = leaf_hash_hex(canonical)
        prev = record["hash"]
        leaves.append(bytes.fromhex(record["leaf_hash"]))
    files["journal.jsonl"] = "".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        for r in records
    ).encode()
    root = root_from_leaf_hashes(leaves)
    for name in [n for n in files if n.startswith("checkpoints/")]:
        files[name] = forger.sign(Checkpoint("huiquan-ledger", len(records), root)).encode()
    files["keys/trusted.vkeys"] = (forger.vkey + "\n").encode()
    manifest = json.loads(files.pop("manifest.json"))
    manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    files["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def test_a_resigned_forged_checkpoint_is_refused_by_the_trusted_key(engine, worked, home):
    path, _ = _bundle(engine, home)
    real = ensure_signing_key(home)
    _forge(path, SigningKey.generate(real.name))  # same name, different key
    report = check_bundle(path, trusted_vkeys(home))
    assert "checkpoint-signature" in _checks(report)
    assert "no trusted key signed" in str(report.findings)
    # what the forger's own key would (wrongly) let pass is still not a clean bill:
    self_trusting = check_bundle(path)
    assert self_trusting.trusted_from_bundle


def test_a_changed_file_fails_its_manifest_sum_and_a_doctored_statement_is_caught(
    engine, worked, home
):
    path, _ = _bundle(engine, home)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    name = "statements/activities-LUHUO.json"
    doctored = json.loads(files[name])
    doctored["rows"][1]["restricted"] = "1.00"
    files[name] = json.dumps(doctored).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    report = check_bundle(path, trusted_vkeys(home))
    assert {"manifest", "statement"} <= _checks(report)


def test_cash_that_went_below_zero_in_sequence_order_is_found(engine, worked, home):
    path, _ = _bundle(engine, home)
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    records = [json.loads(line) for line in files["journal.jsonl"].decode().splitlines()]
    # move the fee (the last entry) to the front, as if spent before any gift arrived
    fee = records.pop()
    records.insert(0, fee)
    files["journal.jsonl"] = "".join(json.dumps(r) + "\n" for r in records).encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    checks = _checks(check_bundle(path, trusted_vkeys(home)))
    assert {"cash", "gap"} <= checks


def test_inclusion_of_a_receipt_is_in_base64_as_checkpoints_are(engine, worked, home):
    path, manifest = _bundle(engine, home)
    with zipfile.ZipFile(path) as zf:
        [name] = [n for n in zf.namelist() if n.startswith("checkpoints/")]
        text = zf.read(name).decode()
    assert base64.b64decode(text.split("\n")[2]) and str(manifest["journal_size"]) in text
