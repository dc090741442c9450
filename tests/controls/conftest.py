"""Fixtures of the controls tests: the API tests' app, callers and books, plus people.

`people` creates users through the use cases and gives each a token of the named role:
`zhang` (张三, officer), `li` (李四, approver), `wang` (王五, approver), and `zhang_approver`,
a second token of 张三 with the approver role (张三 holds both roles).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, testing

from tests.api.conftest import (  # noqa: F401  (fixtures)
    Books,
    Caller,
    admin,
    anonymous,
    app,
    app_config,
    auditor,
    books,
    client,
    officer,
    tokens,
)
from usecases.tokens import create_token
from usecases.unit import SYSTEM
from usecases.users import create_user


def huiquan_books(flask_app: Flask) -> Any:
    return flask_app.extensions["huiquan"].books


@pytest.fixture
def people(app: Flask, client: testing.FlaskClient) -> dict[str, Caller]:  # noqa: F811
    ledger_books = huiquan_books(app)
    engine = ledger_books.engine
    both = ("officer", "approver")
    create_user(ledger_books, login="zhang", display_name="张三", roles=both, by=SYSTEM)
    create_user(ledger_books, login="li", display_name="李四", roles=("approver",), by=SYSTEM)
    create_user(ledger_books, login="wang", display_name="王五", roles=("approver",), by=SYSTEM)
    made = {
        "zhang": create_token(engine, role="officer", name="zhang-laptop", user="zhang"),
        "zhang_approver": create_token(engine, role="approver", name="zhang-phone", user="zhang"),
        "li": create_token(engine, role="approver", name="li-1", user="li"),
        "wang": create_token(engine, role="approver", name="wang-1", user="wang"),
    }
    return {who: Caller(client, token) for who, token in made.items()}
