"""How long a person's text may be, per kind of field: one table for every entrance.

The API's schemas (`api.schemas`) and the console's forms (`console.officers`,
`console.office`) both read these numbers, so a value one accepts the other accepts too.
They bound what is typed, not what the books mean: the rules of the books are elsewhere.

Invariants owned here:
- Every limit is a positive number of characters (Unicode code points, as `len` counts).
- A name of something the books hold (donor, fund, project, issuer, user's display name) is at
  most `NAME`; a reference to a record (an id or a code) at most `REF`.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT_NAME_CN",
    "ACCOUNT_NAME_US",
    "AMOUNT",
    "COHORT",
    "COUNTY",
    "CREDIT_CODE",
    "DISPLAY_NAME",
    "DOCUMENT_NOTE",
    "EVIDENCE",
    "FX_RATE",
    "FX_SOURCE",
    "LOGIN",
    "MEMO",
    "NAME",
    "PASSWORD_MAX",
    "QUANTITY",
    "REASON",
    "REF",
    "REGION",
    "REJECT_REASON",
    "TERM",
    "TOKEN_NAME",
    "VALUATION_BASIS",
]

#: A name: donor, fund, project, beneficiary, issuer, a user's display name.
NAME = 200
DISPLAY_NAME = NAME
#: An id or a code naming a record: donor id, fund code, project code, entry id, award id.
REF = 40
#: A region of a donor; a county or town of a project or beneficiary; a cohort.
REGION = 60
COUNTY = 60
COHORT = 60
#: A memo on an entry, a fund's purpose, a description of goods.
MEMO = 2000
#: The reason of a reversal or a transfer between funds.
REASON = 1000
#: The reason an approver gives when rejecting a request.
REJECT_REASON = 500
#: Where an exchange rate comes from; the rate itself as typed.
FX_SOURCE = 100
FX_RATE = 30
#: An in-kind gift's quantity, valuation basis and evidence.
QUANTITY = 100
VALUATION_BASIS = 500
EVIDENCE = 500
#: A scholarship's term (e.g. 2026秋).
TERM = 40
#: An amount as typed (digits, a point, the decimals).
AMOUNT = 40
#: A user's login and the longest password the console or the API will hash.
LOGIN = 100
PASSWORD_MAX = 1024
#: A note on an evidence document.
DOCUMENT_NOTE = 2000
#: A 统一社会信用代码 is exactly this long.
CREDIT_CODE = 18
#: An account's Chinese and English names in the chart of accounts.
ACCOUNT_NAME_CN = 100
ACCOUNT_NAME_US = 120
#: An API token's name.
TOKEN_NAME = 100
