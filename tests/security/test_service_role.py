"""The service's PostgreSQL role holds what the service needs and no way around the grants.

A fresh database owned by a fresh owner role is migrated and seeded as that owner; a fresh
service role is granted `service_privileges()`; then, connected as the service, the tests show
that the books cannot be rewritten, the triggers cannot be switched off, nothing can be created,
and that the real write path (the ledger services, the receipts, the HTTP API) still works.
Role names carry the pid and a random suffix: other test runs share the server.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from ledger import services
from ledger.importer import import_file
from ledger.integrity import verify_books
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.roles import (
    UPDATED_BY_DESIGN,
    UnsafeServiceRole,
    grant_service_role,
    scram_verifier,
    service_privileges,
    service_role_findings,
)
from ledger.storage.unit_of_work import UnitOfWork, read_only
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint
from receipts.issuing import issue_receipt, lookup_token, revoke_links
from tests.security.conftest import Cluster, admin_engine
from usecases.tokens import authenticate, create_token, revoke_token

SECRET = b"test-pseudonym-secret-0123456789"
DAY = dt.date(2026, 3, 2)
INSUFFICIENT_PRIVILEGE = "42501"
postgres_only = pytest.mark.postgres_only


# -- the list itself (no database needed) -------------------------------------------------------
def test_every_table_of_the_books_has_a_decision_about_the_service():
    assert set(service_privileges()) == set(tables.metadata.tables)


def test_only_columns_that_change_by_design_are_updatable_and_they_exist():
    for table, columns in UPDATED_BY_DESIGN.items():
        assert set(columns) <= set(tables.metadata.tables[table].columns.keys())
    updatable = {name for name, p in service_privileges().items() if p.update}
    assert updatable == set(UPDATED_BY_DESIGN)
    for journal in ("journal_entries", "postings", "audit_events", "receipts", "checkpoints"):
        assert service_privileges()[journal].update == ()


def test_the_chain_head_is_seeded_by_the_owner_and_never_inserted_by_the_service():
    assert not service_privileges()["chain_head"].insert
    assert all(p.select for p in service_privileges().values())


def test_the_scram_verifier_is_the_one_libpq_computes():
    pq = pytest.importorskip("psycopg.pq")
    conn = pq.PGconn.connect(b"")  # not connected: encrypt_password needs no server for SCRAM
    for password in ("s3cret-ö", "pass word", "ＡＢＣ", "x'; DROP ROLE postgres; --"):
        theirs = conn.encrypt_password(password.encode(), b"svc", b"scram-sha-256").decode()
        iterations, salt = theirs.split("$")[1].split(":")
        ours = scram_verifier(password, salt=base64.b64decode(salt), iterations=int(iterations))
        assert ours == theirs


@pytest.fixture
def posted(service_engine: Engine) -> Engine:
    """The books with one gift in them, written by the service."""
    with UnitOfWork(service_engine) as uow:
        if uow.repo.get_fund("POSTED") is None:
            services.open_fund(uow, code="POSTED", name="Posted", restricted=False)
            donor = services.register_donor(uow, name="王秀英")
            services.record_donation(
                uow,
                donor_id=donor.id,
                fund="POSTED",
                amount=Money.parse("10", "CNY"),
                received_on=DAY,
            )
        uow.commit()
    return service_engine


def _refused(engine: Engine, statement: str) -> exc.DBAPIError:
    with engine.connect() as conn, pytest.raises(exc.DBAPIError) as caught:
        conn.exec_driver_sql(statement)
    return caught.value


# -- what the service's role is, and is not ----------------------------------------------------


@postgres_only
def test_the_service_role_holds_exactly_its_privileges_and_owns_nothing(
    cluster: Cluster, owner_engine: Engine, service_engine: Engine
):
    with owner_engine.connect() as conn:
        assert service_role_findings(conn, cluster.service) == []
    with service_engine.connect() as conn:
        assert service_role_findings(conn) == []  # the service can check itself at start
        row = conn.execute(
            text(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication "
                "FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        assert not any(row)
        owned = conn.scalar(
            text(
                "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
                "WHERE rolname = current_user)"
            )
        )
        assert owned == 0


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        *[
            f"{verb} {table}"
            for table in ("journal_entries", "postings", "audit_events")
            for verb in ("DELETE FROM", "TRUNCATE")
        ],
        "UPDATE journal_entries SET memo = 'edited'",
        "UPDATE postings SET amount = amount + 1",
        "UPDATE audit_events SET outcome = 'success'",
        "UPDATE chain_head SET id = 2",
        "UPDATE accounts SET name_cn = '改名'",
        "UPDATE balances SET fund = 'ELSEWHERE'",
        "UPDATE api_tokens SET role = 'admin'",
        "UPDATE receipt_links SET serial = 'R-2026-000001'",
        "DELETE FROM balances",
        "DELETE FROM api_tokens",
        "INSERT INTO chain_head (id, sequence, hash) VALUES (2, 0, 'x')",
        "ALTER TABLE journal_entries DISABLE TRIGGER ALL",
        "ALTER TABLE postings DISABLE TRIGGER postings_append_only",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
        "SET LOCAL session_replication_role = replica",
        "CREATE TABLE scratch (x int)",
        "CREATE SCHEMA scratch",
        "CREATE OR REPLACE FUNCTION huiquan_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER t BEFORE INSERT ON postings FOR EACH ROW "
        "EXECUTE FUNCTION huiquan_postings_sealed()",
        "DROP TABLE postings",
        "DROP TRIGGER journal_entries_append_only ON journal_entries",
        "ALTER TABLE postings OWNER TO CURRENT_USER",
        "SELECT setval('chain_head_id_seq', 1)",
    ],
)
def test_as_the_service_a_statement_that_could_rewrite_the_books_is_refused_by_the_grants(
    posted: Engine, statement: str
):
    refused = _refused(posted, statement)
    # 42501: refused for want of a privilege, before any trigger had to say no.
    assert getattr(refused.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE, refused
    with posted.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries")) >= 1
        assert conn.scalar(text("SELECT SUM(amount) FROM postings")) == 0


@postgres_only
def test_as_the_service_setting_a_role_it_is_not_a_member_of_is_refused(
    cluster: Cluster, service_engine: Engine
):
    refused = _refused(service_engine, f"SET ROLE {cluster.owner}")
    assert getattr(refused.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE


# -- the grants are enough: the real write path, as the service ---------------------------------
@postgres_only
def test_as_the_service_a_fund_is_opened_funded_spent_reversed_and_receipted(
    owner_engine: Engine, service_engine: Engine
):
    books = service_engine
    with UnitOfWork(books) as uow:
        services.open_fund(uow, code="LUHUO", name="炉霍", restricted=True, purpose="卫生室")
        services.open_project(
            uow, code="CLINIC", name="交纳村卫生室", fund="LUHUO", county="炉霍县", town="新都镇"
        )
        donor = services.register_donor(uow, name="王秀英")
        beneficiary = services.register_beneficiary(
            uow, cohort="2024秋", county="炉霍县", personal={"name": "卓玛"}, secret=SECRET
        )
        uow.commit()
    with UnitOfWork(books) as uow:
        gift = services.record_donation(
            uow,
            donor_id=donor.id,
            fund="LUHUO",
            amount=Money.parse("1000", "CNY"),
            received_on=DAY,
            key="gift-1",
        )
        second = services.record_donation(
            uow,
            donor_id=donor.id,
            fund="LUHUO",
            amount=Money.parse("50", "CNY"),
            received_on=DAY,
        )
        issued = issue_receipt(uow.connection, gift, officer="officer", now=uow.now(), uow=uow)
        uow.commit()
    with UnitOfWork(books) as uow:
        paid = services.record_disbursement(
            uow, fund="LUHUO", project="CLINIC", amount=Money.parse("300", "CNY"), paid_on=DAY
        )
        services.reverse(uow, entry_id=second.id, reason="entered twice")
        services.close_account(uow, "1002-USD")
        services.open_account(uow, "1002-USD")
        uow.repo.destroy_personal_key(beneficiary.id)
        uow.commit()
    assert paid.sequence > gift.sequence
    with books.begin() as conn:
        assert issued.token is not None
        assert lookup_token(conn, issued.token) == issued.serial
        assert revoke_links(conn, issued.serial, "2026-03-03T00:00:00+00:00") == 1
        assert lookup_token(conn, issued.token) is None
    token = create_token(owner_engine, role="officer", name=f"officer-{uuid.uuid4().hex[:6]}")
    assert authenticate(books, token) is not None
    revoke_token(books, authenticate(books, token).name)  # type: ignore[union-attr]
    assert authenticate(books, token) is None
    with books.connect() as conn:
        assert conn.scalar(text("SELECT SUM(amount) FROM postings")) == 0
        head = conn.execute(text("SELECT sequence FROM chain_head")).scalar_one()
        assert head == conn.scalar(text("SELECT max(sequence) FROM journal_entries"))


@postgres_only
def test_as_the_service_a_file_is_imported_a_period_closed_a_checkpoint_signed_and_all_verifies(
    service_engine: Engine, tmp_path: Path
):
    books = service_engine
    tag = uuid.uuid4().hex[:6].upper()
    with UnitOfWork(books) as uow:
        services.open_fund(uow, code=f"IMP{tag}", name="导入", restricted=False)
        services.register_donor(uow, name="李明", donor_id=f"D-{tag}")
        uow.commit()
    path = tmp_path / "gifts.csv"
    path.write_text(
        "op,date,donor_id,fund,amount,currency,method,memo,key,label\n"
        f"donation,2025-01-05,D-{tag},IMP{tag},10000,,,年初捐赠,,\n"
        f"donation,2025-01-07,D-{tag},IMP{tag},0.01,CNY,online,,k-{tag},\n",
        encoding="utf-8",
    )
    assert import_file(books, path, maker="import").entries == 2
    with UnitOfWork(books) as uow:
        services.close_period(uow, "2025-01", by="auditor")
        uow.commit()
    with books.begin() as conn:
        signed = make_checkpoint(conn, ensure_signing_key(tmp_path / "home"))
    with read_only(books) as repo:
        report = verify_books(repo)
    assert report.ok, report
    assert signed.size >= 2


@postgres_only
def test_as_the_service_the_http_api_records_gifts_receipts_and_revocations(
    cluster: Cluster, owner_engine: Engine, tmp_path: Path
):
    from api import create_app

    tag = uuid.uuid4().hex[:6]
    tokens = {
        role: create_token(owner_engine, role=role, name=f"{role}-{tag}")
        for role in ("admin", "officer")
    }
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": cluster.service_url,
            "PSEUDONYM_SECRET": b"test-pseudonym-key-0123456789abcdef",
            "HUIQUAN_HOME": str(tmp_path / "home"),
        }
    )
    client = app.test_client()

    def post(role: str, path: str, body: object = None, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = client.post(f"/api/v1{path}", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    today = dt.datetime.now(dt.UTC).date().isoformat()
    fund = f"API{tag}".upper()
    try:
        post("admin", "/funds", {"code": fund, "name": "助学", "restricted": True, "purpose": "x"})
        post(
            "admin",
            "/projects",
            {"code": f"P{tag}".upper(), "name": "炉霍助学", "fund": fund, "county": "炉霍县"},
        )
        donor = post("officer", "/donors", {"name": "成都某公司", "kind": "organisation"})
        gift = {
            "donor_id": donor["id"],
            "fund": fund,
            "amount": "500.00",
            "currency": "CNY",
            "received_on": today,
        }
        receipted = post("officer", "/donations", gift, key=tag)  # issues its receipt
        post(
            "officer",
            "/disbursements",
            {
                "fund": fund,
                "project": f"P{tag}".upper(),
                "amount": "100.00",
                "currency": "CNY",
                "paid_on": today,
            },
        )
        other = post("officer", "/donations", {**gift, "amount": "20.00"})
        post("officer", f"/entries/{other['entry']['id']}/reversal", {"reason": "twice"})
        post("officer", f"/receipts/{receipted['receipt']['serial']}/link")  # revokes the old link
        revoked = client.delete(
            f"/api/v1/tokens/officer-{tag}", headers={"Authorization": f"Bearer {tokens['admin']}"}
        )
        assert revoked.status_code in (200, 204), revoked.get_json()
        refused = client.get(
            "/api/v1/funds", headers={"Authorization": f"Bearer {tokens['officer']}"}
        )
        assert refused.status_code == 401
        with owner_engine.connect() as conn:
            outcomes = conn.scalars(text("SELECT outcome FROM audit_events")).all()
        assert "success" in outcomes and "refused" in outcomes
    finally:
        app.extensions["huiquan"].engine.dispose()


# -- a role that could step around the grants is refused ----------------------------------------
@postgres_only
@pytest.mark.parametrize(
    "attribute",
    ["SUPERUSER", "CREATEDB", "CREATEROLE", "BYPASSRLS"],
)
def test_a_role_that_could_step_around_the_grants_is_refused_and_nothing_changes(
    owner_engine: Engine, fresh_role: str, attribute: str
):
    admin = admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {fresh_role} LOGIN {attribute}")
    admin.dispose()
    with pytest.raises(UnsafeServiceRole) as caught:
        grant_service_role(owner_engine, fresh_role)
    assert f"has {attribute}" in caught.value.findings
    with owner_engine.connect() as conn:
        granted = conn.scalar(
            text(
                "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
                "WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = :r)"
            ),
            {"r": fresh_role},
        )
    assert granted == 0


@postgres_only
def test_the_owner_itself_is_refused_as_the_service(cluster: Cluster, owner_engine: Engine):
    with pytest.raises(UnsafeServiceRole) as caught:
        grant_service_role(owner_engine, cluster.owner)
    assert "a member of the owner of table postings" in caught.value.findings
    assert "a member of the owner of the database" in caught.value.findings


@postgres_only
def test_granting_again_is_idempotent_and_takes_back_what_was_added_by_hand(
    cluster: Cluster, owner_engine: Engine
):
    with owner_engine.begin() as conn:
        conn.exec_driver_sql(f"GRANT DELETE ON balances TO {cluster.service}")
        conn.exec_driver_sql(f"GRANT UPDATE (role) ON api_tokens TO {cluster.service}")
        findings = service_role_findings(conn, cluster.service)
    assert set(findings) == {"holds DELETE on balances", "holds UPDATE of api_tokens.role"}
    assert grant_service_role(owner_engine, cluster.service, password="s3cret") is False
    with owner_engine.connect() as conn:
        assert service_role_findings(conn, cluster.service) == []
    admin = admin_engine()
    with admin.connect() as conn:  # only a superuser reads pg_authid
        stored = conn.scalar(
            text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": cluster.service}
        )
    admin.dispose()
    assert stored.startswith("SCRAM-SHA-256$4096:")


@pytest.mark.sqlite_only
def test_only_postgresql_has_a_service_role(engine: Engine):
    with pytest.raises(ValueError, match="PostgreSQL only"):
        grant_service_role(engine, "huiquan_service")
