"""The journal check: the verify scan builds the canonical bytes exactly as
`canonical_entry_bytes` does, and reads an archived entry object as its journal rows."""

from __future__ import annotations

import json
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import GENESIS, canonical_entry_bytes, chain_hash, leaf_hash_hex
from ledger.journal_scan import check_range, entry_rows
from tests.strategies import entry_head, posting, word


@given(
    entry_head,
    st.none() | word,
    word,
    st.lists(posting, min_size=1, max_size=4),
)
def test_the_scan_recomputes_the_hashes_of_any_entry(head, reverses, data_json, lines):
    entry_id, sequence, kind, occurred, recorded, period, memo, maker = head
    canonical = canonical_entry_bytes(
        entry_id,
        sequence,
        kind,
        occurred,
        recorded,
        period,
        memo,
        maker,
        reverses,
        data_json,
        lines,
    )
    row = (entry_id, sequence, kind, occurred, recorded, period, memo, maker, reverses, data_json)
    row += (GENESIS, chain_hash(GENESIS, canonical), leaf_hash_hex(canonical))
    posting_rows = [
        (n, sequence, occurred, a, fund, amt, cur, fn, proj, party, cls, ref)
        for n, (a, fund, amt, cur, fn, proj, party, cls, ref) in enumerate(lines, 1)
    ]
    result = check_range([row], posting_rows, sequence, GENESIS, 100)
    assert not [f for f in result.findings if f[1] in ("hash", "leaf", "chain", "postings")]
    assert result.entries == 1 and result.postings == len(lines)


@given(entry_head, st.none() | word, st.lists(posting, min_size=1, max_size=4))
def test_an_archived_entry_object_checks_as_its_journal_rows_do(head, reverses, lines):
    entry_id, sequence, kind, occurred, recorded, period, memo, maker = head
    canonical = canonical_entry_bytes(
        entry_id, sequence, kind, occurred, recorded, period, memo, maker, reverses, "{}", lines
    )
    digest = chain_hash(GENESIS, canonical)
    rows = entry_rows(json.loads(canonical), GENESIS, digest, leaf_hash_hex(canonical))
    assert rows is not None
    result = check_range([rows[0]], rows[1], sequence, GENESIS, 100)
    assert not [f for f in result.findings if f[1] in ("hash", "leaf", "chain", "postings")]
    assert result.leaves.hex() == leaf_hash_hex(canonical) and result.last_hash == digest


def test_an_object_not_of_the_serialisers_shape_has_no_journal_rows():
    canonical = canonical_entry_bytes(
        "e1", 1, "donation", "2026-03-01", "t", "2026-03", "", "m", None, "{}",
        [("1002-CNY", "F", 100, "CNY", 100, "", "", "", ""),
         ("4101-R", "F", -100, "CNY", -100, "", "", "", "")],
    )  # fmt: skip
    good = json.loads(canonical)
    assert entry_rows(good, GENESIS, "h", "l") is not None
    extra = {**good, "note": "added"}
    as_text = {**good, "sequence": "1"}
    posting_as_text = json.loads(canonical)
    posting_as_text["postings"][0]["amount"] = "100"
    for bad in (extra, as_text, posting_as_text, [good], None):
        assert entry_rows(bad, GENESIS, "h", "l") is None
    assert entry_rows(good, GENESIS, None, "l") is None


def test_a_verify_worker_starts_without_sqlalchemy():
    code = "import sys, ledger.journal_scan; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
