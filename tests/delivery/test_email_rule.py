"""A donor's email address: the use case's rule (`usecases.delivery.is_email_address`) is the
one the API applied before it moved there (marshmallow's `validate.Email`), address for
address, so neither door accepts what the other refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError, validate

from ledger.errors import InvalidEntry
from tests.delivery.conftest import OFFICER, new_donor
from usecases import delivery
from usecases.books import Books
from usecases.delivery import EMAIL_MAX, is_email_address

EXAMPLES = [
    "mei@example.hk",
    "finance@chengdu-firm.example.cn",
    "a.b-c+d@sub.example.org",
    "user@localhost",
    "user@[192.168.0.1]",
    "user@[256.1.1.1]",
    '"quoted name"@example.com',
    '"a\\"b"@example.com',
    "捐赠人@例子.中国",
    "x@例子.公司",
    "a@b",
    "a@b.c",
    "a@-b.com",
    "a@b-.com",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "mei@",
    "@example.com",
    "not an address",
    "a@@example.com",
    "a@b@example.com",
    "a b@example.com",
    "a@example.com ",
    "a@exa_mple.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@123.com",
    "a@example.123",
    "a@example.c0m",
    "",
]


def _marshmallow(text: str) -> bool:
    try:
        validate.Email()(text)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("text", EXAMPLES)
def test_the_use_cases_address_rule_is_the_apis_former_rule(text: str) -> None:
    assert is_email_address(text) == _marshmallow(text)


_PARTS = st.sampled_from(
    ["a", "Z", "0", ".", "-", "_", "+", "@", '"', "\\", " ", "[", "]", "é", "中", "1.2"]
)


@given(st.lists(_PARTS, max_size=20).map("".join))
def test_any_text_gets_the_same_answer_from_both_rules(text: str) -> None:
    assert is_email_address(text) == _marshmallow(text)


def test_the_use_case_keeps_only_an_address_of_at_most_254_characters(books: Books) -> None:
    donor = new_donor(books, "陈美玲")
    longest = "m" * 64 + "@" + ".".join(["d" * 60, "d" * 60, "d" * 56]) + ".example.cn"
    assert len(longest) == EMAIL_MAX and is_email_address(longest + "n")
    assert delivery.record_donor_email(books, donor, longest, by=OFFICER) == longest
    for refused in (longest[:-2] + "cnx", "mei@", "mei@example.hk\n"):
        with pytest.raises(InvalidEntry) as err:
            delivery.record_donor_email(books, donor, refused, by=OFFICER)
        assert err.value.field == "email"
    assert delivery.donor_email(books, donor) == longest
