"""Fixtures of the trust tests: the receipt tests' app (receipts wired, a public base URL) and
the API tests' clients and tokens, shared by assignment."""

from __future__ import annotations

from tests.receipts import conftest as receipt_fixtures

app_config = receipt_fixtures.app_config
app = receipt_fixtures.app
client = receipt_fixtures.client
tokens = receipt_fixtures.tokens
admin = receipt_fixtures.admin
officer = receipt_fixtures.officer
auditor = receipt_fixtures.auditor
anonymous = receipt_fixtures.anonymous
books = receipt_fixtures.books
gift = receipt_fixtures.gift
