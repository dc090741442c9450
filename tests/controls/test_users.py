"""Users: created and listed by admins, signing what their tokens do, disabled for good."""

from __future__ import annotations

from sqlalchemy import select, text

from ledger.storage import tables
from ledger.storage.db import migrate
from tests.api.conftest import disbursement, donation
from tests.controls.conftest import huiquan_books
from usecases import users
from usecases.unit import SYSTEM


def test_an_admin_creates_a_user_whose_password_is_never_answered(admin, officer):
    body = {
        "login": "zhao",
        "display_name": "赵六",
        "roles": ["officer", "approver"],
        "password": "correct horse battery",
    }
    made = admin.created("/api/v1/users", body)
    assert made["display_name"] == "赵六"
    assert made["roles"] == ["approver", "officer"]
    assert made["status"] == "active"
    assert "password" not in made and "password_hash" not in made
    listed = admin.get("/api/v1/users").get_json()["items"]
    assert "zhao" in [u["login"] for u in listed]
    assert officer.post("/api/v1/users", json=body).status_code == 403
    again = admin.post("/api/v1/users", json=body)
    assert again.status_code == 409 and again.get_json()["code"] == "already_exists"


def test_a_user_with_an_unknown_role_is_refused_and_nothing_is_created(admin):
    answer = admin.post(
        "/api/v1/users", json={"login": "x", "display_name": "X", "roles": ["treasurer"]}
    )
    assert answer.status_code == 422
    assert "x" not in [u["login"] for u in admin.get("/api/v1/users").get_json()["items"]]


def test_authenticate_knows_the_password_and_nothing_else(app):
    books = huiquan_books(app)
    made = users.create_user(
        books,
        login="zhang",
        display_name="张三",
        roles=("officer",),
        password="长城长城长城长城长城",
        by=SYSTEM,
    )
    assert users.authenticate(books, "zhang", "长城长城长城长城长城") == made
    assert users.authenticate(books, "zhang", "wrong password!") is None
    assert users.authenticate(books, "nobody", "长城长城长城长城长城") is None
    with books.engine.connect() as conn:  # closed: an open read would block the next reset
        stored = conn.execute(select(tables.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$")
    users.set_password(books, made.id, "another long one", by=SYSTEM)
    assert users.authenticate(books, "zhang", "长城长城长城长城长城") is None
    assert users.authenticate(books, "zhang", "another long one") == made


def test_a_disabled_user_cannot_log_in_nor_use_any_of_their_tokens(app, admin, people, books):
    zhang = users.user_by_login(huiquan_books(app), "zhang")
    users.set_password(huiquan_books(app), zhang.id, "a good password", by=SYSTEM)
    assert people["zhang"].get("/api/v1/funds").status_code == 200
    answer = admin.post(f"/api/v1/users/{zhang.id}/disable")
    assert answer.status_code == 200 and answer.get_json()["status"] == "disabled"
    assert people["zhang"].get("/api/v1/funds").status_code == 401
    assert people["zhang_approver"].get("/api/v1/funds").status_code == 401
    assert users.authenticate(huiquan_books(app), "zhang", "a good password") is None


def test_an_entry_and_the_audit_trail_are_signed_with_the_users_display_name(
    admin, auditor, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "500.00"))
    paid = people["zhang"].created("/api/v1/disbursements", disbursement(books, "10.00"))
    assert paid["entry"]["maker"] == "张三"
    events = auditor.get("/api/v1/audit/events?limit=1000").get_json()["events"]
    assert any(e["actor"] == "张三" and e["outcome"] == "success" for e in events)


def test_a_token_needs_a_role_its_user_holds(admin, people):
    answer = admin.post("/api/v1/tokens", json={"name": "li-2", "role": "officer", "user": "li"})
    assert answer.status_code == 422
    made = admin.created("/api/v1/tokens", {"name": "li-2", "role": "approver", "user": "li"})
    assert made["user_id"] is not None


def test_revision_0005_gives_every_older_token_a_user_of_its_name(engine):
    now = "2026-01-01T00:00:00+00:00"
    with engine.begin() as conn:
        conn.execute(
            tables.api_tokens.insert().values(
                id="t1", name="treasurer-pc", role="officer", token_hash="h" * 64, created_at=now
            )
        )
        conn.execute(text("UPDATE alembic_version SET version_num = '0003_cosignatures'"))
    migrate(engine)
    with engine.connect() as conn:
        user = conn.execute(
            select(tables.users).where(tables.users.c.login == "treasurer-pc")
        ).one()
        owner = conn.execute(select(tables.api_tokens.c.user_id)).scalar()
    assert (user.display_name, user.roles, user.status) == ("treasurer-pc", "officer", "active")
    assert owner == user.id


def test_an_admin_changes_a_users_roles_idempotently_and_the_trail_names_old_and_new(
    app, admin, auditor, officer, people
):
    import json

    zhang = users.user_by_login(huiquan_books(app), "zhang")
    path = f"/api/v1/users/{zhang.id}/roles"
    assert (
        officer.client.put(path, json={"roles": ["admin"]}, headers=officer.headers()).status_code
        == 403
    )
    bad = admin.client.put(path, json={"roles": ["treasurer"]}, headers=admin.headers())
    assert bad.status_code == 422
    empty = admin.client.put(path, json={"roles": []}, headers=admin.headers())
    assert empty.status_code == 422
    assert users.get_user(huiquan_books(app), zhang.id).roles == ("approver", "officer")
    assert people["zhang_approver"].get("/api/v1/funds").status_code == 200

    changed = admin.client.put(
        path, json={"roles": ["officer", "auditor"]}, headers=admin.headers()
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["roles"] == ["auditor", "officer"]
    assert users.get_user(huiquan_books(app), zhang.id).roles == ("auditor", "officer")
    # the approver token's role is no longer the user's: revoked in the same write
    assert people["zhang_approver"].get("/api/v1/funds").status_code == 401
    assert people["zhang"].get("/api/v1/funds").status_code == 200

    with huiquan_books(app).engine.connect() as conn:
        rows = conn.execute(
            select(tables.audit_events.c.detail).where(
                tables.audit_events.c.target.contains(zhang.id),
                tables.audit_events.c.outcome == "success",
            )
        ).all()
    details = [json.loads(r.detail) for r in rows if r.detail]
    assert details == [
        {
            "old_roles": ["approver", "officer"],
            "new_roles": ["auditor", "officer"],
            "tokens_revoked": 1,
        }
    ]
    again = admin.client.put(path, json={"roles": ["auditor", "officer"]}, headers=admin.headers())
    assert again.status_code == 200 and again.get_json() == changed.get_json()
    missing = admin.client.put(
        "/api/v1/users/nobody/roles", json={"roles": ["officer"]}, headers=admin.headers()
    )
    assert missing.status_code == 404


def test_an_admin_cannot_take_the_admin_role_from_themselves(app):
    books = huiquan_books(app)
    boss = users.create_user(books, login="boss", display_name="老板", roles=("admin",), by=SYSTEM)
    import pytest

    from ledger.errors import InvalidEntry

    with pytest.raises(InvalidEntry) as refused:
        users.set_roles(books, boss.id, ["officer"], by=boss.actor())
    assert refused.value.field == "roles"
    assert users.get_user(books, boss.id).roles == ("admin",)
    kept = users.set_roles(books, boss.id, ["admin", "auditor"], by=boss.actor())
    assert kept.roles == ("admin", "auditor")
