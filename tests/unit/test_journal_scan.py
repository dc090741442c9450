"""The verify scan builds the canonical bytes exactly as `canonical_entry_bytes` does."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import GENESIS, canonical_entry_bytes, chain_hash, leaf_hash_hex
from ledger.journal_scan import check_range
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


def test_a_verify_worker_starts_without_sqlalchemy():
    code = "import sys, ledger.journal_scan; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
