from __future__ import annotations

from dataclasses import astuple

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import GENESIS, canonical_bytes, canonical_entry_bytes, chain_hash
from ledger.entries import Posting, check_balanced, reversal_postings, validate
from ledger.errors import InvalidEntry, UnbalancedEntry
from tests.strategies import entry_head, posting, word


def p(account: str, amount: int, fund: str = "F", currency: str = "CNY", functional=None):
    return Posting(account, fund, amount, currency, amount if functional is None else functional)


def test_a_balanced_entry_has_no_findings():
    assert validate([p("1002-CNY", 100), p("4101-R", -100)]) == []


def test_an_entry_that_balances_overall_but_not_per_fund_is_refused():
    findings = validate([p("1002-CNY", 100, "A"), p("4101-R", -100, "B")])
    assert any("fund A" in f for f in findings)
    assert any("fund B" in f for f in findings)


def test_an_entry_that_balances_in_cny_value_but_not_per_currency_is_refused():
    lines = [p("1002-HKD", 100, currency="HKD", functional=92), p("4101-R", -92)]
    try:
        check_balanced(lines)
    except UnbalancedEntry as e:
        assert "HKD" in str(e)
    else:
        raise AssertionError("should not balance")


def test_one_line_and_zero_lines_are_invalid():
    for lines in ([p("1002-CNY", 100)], [p("1002-CNY", 0), p("4101-R", 0)]):
        try:
            check_balanced(lines)
        except InvalidEntry:
            pass
        else:
            raise AssertionError(lines)


def test_every_finding_is_reported_at_once():
    findings = validate([p("1002-CNY", 0, fund=""), p("X", 5, currency="XXX")])
    assert len(findings) >= 3


def test_a_reversal_nets_the_original_to_zero():
    original = (p("5101", 500), p("1002-CNY", -500))
    both = original + reversal_postings(original)
    assert sum(x.amount for x in both) == 0
    assert [x.amount for x in reversal_postings(original)] == [-500, 500]


_text = st.text(max_size=20)
_value = st.recursive(
    st.none() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | _text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abcdefghij_", max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(alphabet="abcdefghijklmnop_", max_size=10), _value, max_size=6))
def test_canonical_bytes_equal_the_rfc8785_reference_for_ledger_objects(obj):
    assert canonical_bytes(obj) == rfc8785.dumps(obj)


def test_the_chain_hash_depends_on_the_previous_hash_and_the_content():
    blob = canonical_entry_bytes(
        "e1",
        1,
        "donation",
        "2026-03-01",
        "2026-03-01T00:00:00+00:00",
        "2026-03",
        "",
        "m",
        None,
        '{"cny_minor":100}',
        [astuple(p("1002-CNY", 100)), astuple(p("4101-R", -100))],
    )
    h = chain_hash(GENESIS, blob)
    assert len(h) == 64
    assert chain_hash("1" * 64, blob) != h
    assert chain_hash(GENESIS, blob.replace(b"100", b"101")) != h


@given(
    entry_head,
    st.none() | word,
    st.dictionaries(
        st.text(alphabet="abcdefg_", max_size=6),
        st.integers(-(2**53) + 1, 2**53 - 1) | word,
        max_size=4,
    ),
    st.lists(posting, min_size=1, max_size=4),
)
def test_the_canonical_serialiser_writes_the_rfc8785_json_of_the_entry_object(
    head, reverses, data, lines
):
    from ledger.chain import canonical_data

    entry_id, sequence, kind, occurred, recorded, period, memo, maker = head
    expected = {
        "v": 1,
        "id": entry_id,
        "sequence": sequence,
        "kind": kind,
        "occurred_on": occurred,
        "recorded_at": recorded,
        "period": period,
        "memo": memo,
        "maker": maker,
        "reverses": reverses,
        "data": data,
        "postings": [Posting(*line).canonical(n) for n, line in enumerate(lines, 1)],
    }
    fast = canonical_entry_bytes(
        entry_id,
        sequence,
        kind,
        occurred,
        recorded,
        period,
        memo,
        maker,
        reverses,
        canonical_data(data),
        lines,
    )
    assert fast == rfc8785.dumps(expected)
    assert json_loads(fast) == expected
    assert canonical_bytes(json_loads(fast)) == fast


def json_loads(blob: bytes):
    import json

    return json.loads(blob)
