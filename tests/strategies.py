"""Hypothesis strategies shared by the tests of the journal's canonical form and its scan."""

from __future__ import annotations

from hypothesis import strategies as st

word = st.text(max_size=12)
#: One posting as the hot paths take it: (account, fund, amount, currency, functional,
#: project, party, class, ref).
posting = st.tuples(
    word,
    word,
    st.integers(-(10**15), 10**15).filter(bool),
    word,
    st.integers(-(10**15), 10**15),
    word,
    word,
    word,
    word,
)
#: An entry's head: (id, sequence, kind, occurred on, recorded at, period, memo, maker).
entry_head = st.tuples(word, st.integers(1, 10**9), word, word, word, word, word, word)
