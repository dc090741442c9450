"""The service's role on PostgreSQL: what `huiquan serve` may do to the books, and nothing more.

Invariants owned here:
- Two roles: the *owner* owns the tables, runs the migrations and seeds the chart (`huiquan init`
  with the owner's URL); the *service* (`huiquan serve`) logs in as a role that owns nothing.
- The service reads every table, inserts into every table it appends to, and updates only the
  columns that change by design (`service_privileges`). It deletes only from the two tables of
  contact details that erasure empties (`DELETED_BY_DESIGN`; the tables' triggers still refuse
  a DELETE no erasure record covers). It holds no TRUNCATE, REFERENCES or TRIGGER privilege
  and no sequence: nothing it writes takes a number from one.
- A role that could step around the grants is refused (`service_role_findings` says why):
  a superuser, a role with CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS, a member of a role
  that owns a table, the schema or the database (so it can neither `ALTER TABLE ... DISABLE
  TRIGGER` nor drop a table), a role that may CREATE in the schema or the database, or one
  allowed to SET `session_replication_role` (which would silence the append-only triggers).
- `grant_service_role` is idempotent and converges: it revokes whatever the role held on the
  books' tables and the schema's sequences and grants exactly `service_privileges()`, in one
  transaction that is rolled back if any finding remains. Run it again after each upgrade.
- A password reaches the server only as a SCRAM-SHA-256 verifier, never in clear text (so it is
  never written to a statement log).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import stringprep
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from ledger.storage import tables

__all__ = [
    "DELETED_BY_DESIGN",
    "TablePrivileges",
    "UnsafeServiceRole",
    "grant_service_role",
    "scram_verifier",
    "service_privileges",
    "service_role_findings",
]

#: Columns the service updates in place, and why; every other column is written once, by INSERT.
UPDATED_BY_DESIGN: Mapping[str, tuple[str, ...]] = {
    # The head of the hash chain moves with every entry; writers lock it (SELECT ... FOR UPDATE,
    # which itself needs UPDATE on a column).
    "chain_head": ("sequence", "hash"),
    # Derived running totals: INSERT ... ON CONFLICT DO UPDATE adds each entry's deltas.
    "balances": ("amount", "functional"),
    # Accounts are closed and reopened, never renamed (the accounts_guard trigger, too).
    "accounts": ("is_open", "closed_at"),
    # Erasing a beneficiary destroys their key; the ciphertext stays.
    "beneficiary_personal": ("key",),
    # Gapless receipt serials: UPDATE ... RETURNING, or an upsert of the unit's last serial.
    "receipt_counters": ("last",),
    # A leaked receipt link, or an API token, is revoked by stamping when.
    "receipt_links": ("revoked_at",),
    "api_tokens": ("revoked_at",),
    # A user is disabled (never deleted: entries and trails name them), changes password, or
    # has their roles changed by an admin (the audit event keeps the old and the new roles).
    "users": ("status", "password_hash", "roles"),
    # A request is decided once: posted (with its entry), rejected or withdrawn.
    "approval_requests": ("status", "entry_id", "closed_at", "closed_by", "reason"),
    # The outbox's work state (decision 0013): a worker leases a message, then records how its
    # attempt went; the attempts themselves are appended to outbox_attempts.
    "delivery_queue": (
        "status",
        "attempts",
        "failures",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "updated_at",
    ),
    # Erasing a donor's addresses (decision 0017) blanks the recipient of their email messages
    # and takes the address out of the attempts' details (the triggers allow nothing else).
    "outbox_messages": ("recipient",),
    "outbox_attempts": ("detail",),
    # Officers edit a campaign's public text, cover, end date and status (each edit audited);
    # what it raised is read from the journal, never stored here.
    "campaigns": (
        "title_zh",
        "title_en",
        "story_zh",
        "story_en",
        "cover",
        "ends_on",
        "status",
        "updated_at",
    ),
}

#: Tables the service deletes rows from: contact details erased for good (decision 0017).
DELETED_BY_DESIGN = frozenset({"community_contacts", "donor_contacts"})

#: Tables the service reads but never inserts into: the owner seeds them.
SEEDED_BY_OWNER = frozenset({"chain_head"})

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: pg_roles columns of the attributes that bypass or hand out grants, and their keywords.
_FORBIDDEN_ATTRIBUTES = {
    "rolsuper": "SUPERUSER",
    "rolcreaterole": "CREATEROLE",
    "rolcreatedb": "CREATEDB",
    "rolreplication": "REPLICATION",
    "rolbypassrls": "BYPASSRLS",
}


class UnsafeServiceRole(RuntimeError):
    """Raised when the service's role could step around its grants (see `findings`)."""

    def __init__(self, role: str, findings: list[str]) -> None:
        super().__init__(f"role {role!r} is not fit to run the service: " + "; ".join(findings))
        self.role = role
        self.findings = findings


@dataclass(frozen=True)
class TablePrivileges:
    """What the service may do to one table: read it, append to it, update these columns,
    delete rows."""

    table: str
    select: bool
    insert: bool
    update: tuple[str, ...]
    delete: bool = False

    def statements(self, role: str) -> list[str]:
        """The GRANT statements for `role` (an already quoted identifier)."""
        held = (("SELECT", self.select), ("INSERT", self.insert), ("DELETE", self.delete))
        verbs = [v for v, granted in held if granted]
        grants = [f"GRANT {', '.join(verbs)} ON {self.table} TO {role}"] if verbs else []
        if self.update:
            grants.append(f"GRANT UPDATE ({', '.join(self.update)}) ON {self.table} TO {role}")
        return grants


def service_privileges() -> dict[str, TablePrivileges]:
    """Per table of the books, what the service needs: SELECT, INSERT, UPDATE of some columns,
    DELETE from the erasable contact tables."""
    return {
        t.name: TablePrivileges(
            t.name,
            select=True,
            insert=t.name not in SEEDED_BY_OWNER,
            update=UPDATED_BY_DESIGN.get(t.name, ()),
            delete=t.name in DELETED_BY_DESIGN,
        )
        for t in tables.metadata.sorted_tables
    }


def grant_service_role(owner_engine: Engine, role: str, *, password: str | None = None) -> bool:
    """Create the service's role if it is missing and grant it exactly `service_privileges()`.

    Run as the owner of the tables, after the migrations. A missing role is created with LOGIN
    and none of the attributes that bypass grants (the owner needs CREATEROLE for that; else the
    operator creates the role first). `password`, if given, is set (as a SCRAM verifier).
    Returns whether the role was created.

    Raises:
        ValueError: not PostgreSQL, or a role name that is not a plain lower-case identifier.
        UnsafeServiceRole: the role could step around the grants; nothing is changed.
    """
    if owner_engine.dialect.name != "postgresql":
        raise ValueError("a service role exists on PostgreSQL only")
    if not _ROLE_NAME.fullmatch(role):
        raise ValueError(f"role name {role!r}: use lower-case letters, digits and _")
    with owner_engine.begin() as conn:
        quoted = conn.dialect.identifier_preparer.quote(role)
        created = _ensure_role(conn, role, quoted)
        if password is not None:
            # base64, digits, '$' and ':' only: nothing in a verifier needs quoting.
            conn.exec_driver_sql(f"ALTER ROLE {quoted} PASSWORD '{scram_verifier(password)}'")
        _grant(conn, role, quoted)
        findings = service_role_findings(conn, role)
        if findings:
            raise UnsafeServiceRole(role, findings)
    return created


def _ensure_role(conn: Connection, role: str, quoted: str) -> bool:
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
        return False
    conn.exec_driver_sql(
        f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    )
    return True


def _grant(conn: Connection, role: str, quoted: str) -> None:
    schema = conn.dialect.identifier_preparer.quote(
        str(conn.scalar(text("SELECT current_schema()")))
    )
    database = conn.dialect.identifier_preparer.quote(
        str(conn.scalar(text("SELECT current_database()")))
    )
    privileges = service_privileges()
    # Start from nothing, so a privilege dropped from the list is taken back on the next run
    # (revoking a table's privilege revokes its column privileges too).
    conn.exec_driver_sql(f"REVOKE ALL ON {', '.join(privileges)} FROM {quoted}")
    conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {quoted}")
    if _can(conn, "has_schema_privilege(:r, current_schema(), 'CREATE')", role):
        conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {schema} FROM {quoted}")
    if _can(conn, "has_schema_privilege(:r, current_schema(), 'CREATE')", role):
        # PostgreSQL 14 and older let PUBLIC create in the public schema.
        conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    if _can(conn, "has_database_privilege(:r, current_database(), 'CREATE')", role):
        conn.exec_driver_sql(f"REVOKE CREATE ON DATABASE {database} FROM {quoted}")
    if not _can(conn, "has_schema_privilege(:r, current_schema(), 'USAGE')", role):
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}")
    if not _can(conn, "has_database_privilege(:r, current_database(), 'CONNECT')", role):
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {database} TO {quoted}")
    for table in privileges.values():
        for statement in table.statements(quoted):
            conn.exec_driver_sql(statement)


def _can(conn: Connection, check: str, role: str) -> bool:
    return bool(conn.scalar(text(f"SELECT {check}"), {"r": role}))


def service_role_findings(conn: Connection, role: str | None = None) -> list[str]:
    """Every way `role` (default: the connection's own user) could step around its grants.

    An empty list means the role holds exactly `service_privileges()` on the books and cannot
    own, alter, create, disable triggers or switch `session_replication_role`.
    """
    role = role or str(conn.scalar(text("SELECT current_user")))
    attributes = conn.execute(
        text(f"SELECT {', '.join(_FORBIDDEN_ATTRIBUTES)} FROM pg_roles WHERE rolname = :r"),
        {"r": role},
    ).first()
    if attributes is None:
        return [f"there is no role {role!r}"]
    findings = [
        f"has {keyword}"
        for keyword, held in zip(_FORBIDDEN_ATTRIBUTES.values(), attributes, strict=True)
        if held
    ]
    if attributes.rolsuper:  # it ignores every grant: the rest would only repeat that
        return findings
    findings += _ownership_findings(conn, role)
    findings += _table_findings(conn, role)
    return findings


_OWNERSHIP = """
SELECT 'a member of the owner of table ' || c.relname FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND c.relname = ANY(:tables)
    AND pg_has_role(:r, c.relowner, 'MEMBER')
UNION ALL SELECT 'a member of the owner of the schema' FROM pg_namespace n
  WHERE n.nspname = current_schema() AND pg_has_role(:r, n.nspowner, 'MEMBER')
UNION ALL SELECT 'a member of the owner of the database' FROM pg_database d
  WHERE d.datname = current_database() AND pg_has_role(:r, d.datdba, 'MEMBER')
UNION ALL SELECT 'may CREATE in the schema'
  WHERE has_schema_privilege(:r, current_schema(), 'CREATE')
UNION ALL SELECT 'may CREATE in the database'
  WHERE has_database_privilege(:r, current_database(), 'CREATE')
"""

_PARAMETER = """
SELECT 'may SET session_replication_role'
  WHERE has_parameter_privilege(:r, 'session_replication_role', 'SET')
"""


def _ownership_findings(conn: Connection, role: str) -> list[str]:
    names = list(service_privileges())
    found = [str(f) for f in conn.scalars(text(_OWNERSHIP), {"r": role, "tables": names})]
    if int(conn.scalar(text("SHOW server_version_num")) or 0) >= 150000:
        found += [str(f) for f in conn.scalars(text(_PARAMETER), {"r": role})]
    return found


_TABLE_VERBS = ("SELECT", "INSERT", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _table_findings(conn: Connection, role: str) -> list[str]:
    """Where the role's effective privileges (through PUBLIC and memberships too) differ."""
    checks: list[str] = []
    expected: list[tuple[str, bool]] = []
    for table in service_privileges().values():
        wanted = {"SELECT": table.select, "INSERT": table.insert, "DELETE": table.delete}
        for verb in _TABLE_VERBS:
            checks.append(f"has_table_privilege(:r, '{table.table}', '{verb}')")
            expected.append((f"{verb} on {table.table}", wanted.get(verb, False)))
        for column in tables.metadata.tables[table.table].columns:
            checks.append(f"has_column_privilege(:r, '{table.table}', '{column.name}', 'UPDATE')")
            expected.append((f"UPDATE of {table.table}.{column.name}", column.name in table.update))
    held = conn.execute(text(f"SELECT {', '.join(checks)}"), {"r": role}).one()
    return [
        f"{'lacks' if wanted else 'holds'} {what}"
        for (what, wanted), has in zip(expected, held, strict=True)
        if bool(has) != wanted
    ]


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (as libpq computes it)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", _saslprep(password), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    stored = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server_key)}"


def _saslprep(password: str) -> bytes:
    """RFC 4013 as PostgreSQL applies it; a password it would refuse is used as raw bytes."""
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if not stringprep.in_table_b1(ch)
    )
    normal = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
        stringprep.in_table_a1,
    )
    if not normal or any(check(ch) for ch in normal for check in prohibited):
        return password.encode("utf-8")
    return normal.encode("utf-8")
