"""SQLAlchemy Core tables of the books, and the triggers that guard them.

Invariants owned here (enforced by the database itself, on SQLite and PostgreSQL):
- `journal_entries` and `postings` are append-only: UPDATE and DELETE (and TRUNCATE on
  PostgreSQL) raise. Corrections are reversal entries.
- An entry's postings are inserted first and its header last; inserting the header checks that
  the entry has at least two postings and that they sum to zero per fund and currency, both in
  that currency and in CNY value. No line can be added to an entry once its header exists.
- `reverses` is unique: an entry is reversed at most once.
- Personal contact details kept outside the books (`community_contacts`, `donor_contacts`) are
  append-only too, except that a row may be DELETEd once an `erasures` row names its owner
  (erasure, decision 0017); an email message's recipient may be blanked, and its attempts'
  details rewritten with the address taken out, only for an erased donor (`ERASABLE`,
  `install_erasure_guards`). `erasures` itself is append-only and holds no personal data.
- Accounts are never deleted and never renamed; only `is_open` / `closed_at` change.
- `balances` is derived state kept current in the same transaction as every posting;
  `ledger.integrity` checks it against the journal.
- Dates are ISO-8601 strings (`YYYY-MM-DD`), timestamps ISO-8601 UTC with microseconds: they sort
  as text and read the same on both engines.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = [
    "COMMUNITY_TABLES",
    "CONTROLS_TABLES",
    "DELIVERY_TABLES",
    "ERASABLE",
    "ERASED_MARK",
    "ERASURE_TABLES",
    "EVIDENCE_TABLES",
    "JOURNAL_TABLES",
    "PROGRAMME_APPEND_ONLY",
    "PROGRAMME_TABLES",
    "accounts",
    "acknowledgments",
    "award_table",
    "balances",
    "bank_matches",
    "bank_statement_lines",
    "bank_statements",
    "beneficiaries",
    "beneficiary_personal",
    "campaign_matchers",
    "campaign_updates",
    "campaigns",
    "chain_head",
    "closed_periods",
    "community_contacts",
    "cosignatures",
    "delivery_queue",
    "donor_contacts",
    "donors",
    "erasures",
    "evidence_attachments",
    "evidence_blobs",
    "evidence_chunks",
    "fiscal_references",
    "fund_issuers",
    "fund_purposes",
    "funds",
    "idempotency",
    "in_kind_handovers",
    "install_erasure_guards",
    "install_triggers",
    "issuers",
    "journal_entries",
    "metadata",
    "need_events",
    "need_photos",
    "needs",
    "offer_deliveries",
    "offers",
    "outbox_attempts",
    "outbox_messages",
    "places",
    "pledge_acknowledgments",
    "pledge_schedules",
    "pledges",
    "postings",
    "programme_photos",
    "project_budgets",
    "project_places",
    "projects",
    "service_attendance",
    "service_signups",
    "services_offered",
    "village_chiefs",
    "volunteer_hours",
    "webhook_disables",
    "webhook_subscriptions",
]

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name_cn", String(100), nullable=False),
    Column("name_us", String(120), nullable=False),
    Column("type", String(20), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("currency", String(3)),
    Column("is_open", Boolean, nullable=False, default=True),
    Column("opened_at", String(32), nullable=False),
    Column("closed_at", String(32)),
)

funds = Table(
    "funds",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("restricted", Boolean, nullable=False),
    Column("purpose", Text, nullable=False, default=""),
    Column("is_open", Boolean, nullable=False, default=True),
    Column("created_at", String(32), nullable=False),
)

donors = Table(
    "donors",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("language", String(10), nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("region", String(60), nullable=False, default=""),
    Column("created_at", String(32), nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("fund", String(40), nullable=False, index=True),
    Column("county", String(60), nullable=False),
    Column("town", String(60), nullable=False, default=""),
    Column("budget_minor", BigInteger, nullable=False, default=0),
    Column("currency", String(3), nullable=False, default="CNY"),
    Column("created_at", String(32), nullable=False),
)

beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("cohort", String(60), nullable=False),
    Column("county", String(60), nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Personal data of a beneficiary: encrypted with a key of their own (kept in `key`), so that
# destroying the key erases the person without touching the append-only books.
beneficiary_personal = Table(
    "beneficiary_personal",
    metadata,
    Column("beneficiary_id", String(40), primary_key=True),
    Column("key", LargeBinary),
    Column("ciphertext", LargeBinary, nullable=False),
)

pledges = Table(
    "pledges",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("donor_id", String(40), nullable=False, index=True),
    Column("fund", String(40), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_on", String(10)),
    Column("conditional", Boolean, nullable=False),
    Column("entry_id", String(40)),
    Column("created_at", String(32), nullable=False),
)

award_table = Table(
    "scholarship_awards",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("fund", String(40), nullable=False),
    Column("beneficiary_id", String(40), nullable=False, index=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("term", String(40), nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("created_at", String(32), nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("sequence", BigInteger, nullable=False, unique=True),
    Column("kind", String(30), nullable=False),
    Column("occurred_on", String(10), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("period", String(7), nullable=False),
    Column("memo", Text, nullable=False, default=""),
    Column("maker", String(100), nullable=False),
    Column("reverses", String(40), unique=True),
    Column("data", Text, nullable=False, default="{}"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Index("ix_entries_occurred_on", "occurred_on"),
    Index("ix_entries_kind", "kind"),
)

postings = Table(
    "postings",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("entry_id", String(40), nullable=False),
    Column("occurred_on", String(10), nullable=False),
    Column("account", String(20), nullable=False),
    Column("fund", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("functional", BigInteger, nullable=False),
    Column("project", String(40), nullable=False, default=""),
    Column("party", String(40), nullable=False, default=""),
    Column("functional_class", String(20), nullable=False, default=""),
    Column("ref", String(40), nullable=False, default=""),
    CheckConstraint("amount <> 0", name="ck_postings_no_zero_leg"),
    # One index for the fund filters (exports, statements, entry lists) and a fund's account
    # and currency (balances as of a date, where a gift went). Revision 0002 put it in place of
    # (fund, occurred_on) and (account, fund, currency, occurred_on): one index entry fewer per
    # posting; an account's postings across all funds are now read by a scan.
    Index("ix_postings_fund_account", "fund", "account", "currency", "occurred_on"),
    # Most postings have no project or party: index only those that do.
    Index(
        "ix_postings_project",
        "project",
        sqlite_where=text("project <> ''"),
        postgresql_where=text("project <> ''"),
    ),
    Index(
        "ix_postings_party",
        "party",
        sqlite_where=text("party <> ''"),
        postgresql_where=text("party <> ''"),
    ),
)

balances = Table(
    "balances",
    metadata,
    Column("account", String(20), primary_key=True),
    Column("fund", String(40), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("project", String(40), primary_key=True),
    Column("ref", String(40), primary_key=True),
    Column("amount", BigInteger, nullable=False),
    Column("functional", BigInteger, nullable=False),
    Index("ix_balances_fund", "fund"),
    Index("ix_balances_project", "project"),
)

# One row, id = 1: the head of the hash chain. Every writer locks it first, so sequence numbers
# are gapless and balance checks are race-free on both engines.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sequence", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

closed_periods = Table(
    "closed_periods",
    metadata,
    Column("period", String(7), primary_key=True),
    Column("closed_at", String(32), nullable=False),
    Column("closed_by", String(100), nullable=False),
)

idempotency = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("operation", String(40), nullable=False),
    Column("entry_id", String(40)),
    Column("object_id", String(64)),  # an entity id, or a photo's SHA-256
    Column("created_at", String(32), nullable=False),
    UniqueConstraint("key", name="uq_idempotency_key"),
)

# -- the outer layers' tables (one metadata, one migration history) --------------------------
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    # When the token stops working (ISO-8601 UTC); revision 0004 gave older tokens 90 days.
    Column("expires_at", String(32)),
    # The user the token acts for (revision 0005 gave every older token a user of its name).
    Column("user_id", String(40), index=True),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(100), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("request_id", String(64), nullable=False, default=""),
    Column("idempotency_key", String(200), nullable=False, default=""),
    Column("client", String(64), nullable=False, default=""),
    Column("outcome", String(20), nullable=False),
    Column("status", Integer, nullable=False, default=0),
    Column("detail", Text, nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_actor", "actor"),
)

receipt_counters = Table(
    "receipt_counters",
    metadata,
    Column("series", String(10), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", BigInteger, nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("entry_id", String(40), index=True),
    Column("donor_id", String(40), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("replaces_serial", String(40)),
    Column("fiscal_code", String(60)),
    Column("fiscal_number", String(60)),
    Column("data", Text, nullable=False, default="{}"),
)

receipt_voids = Table(
    "receipt_voids",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("voided_at", String(32), nullable=False),
    Column("voided_by", String(100), nullable=False),
    Column("replacement_serial", String(40)),
)

receipt_links = Table(
    "receipt_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("serial", String(40), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    # The token sealed (AES-GCM) under the receipt-link key, so a replay can show it again;
    # NULL for links made before revision 0004.
    Column("sealed", String(128)),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("signed_text", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

# Witnesses' cosignatures on checkpoints: one row per (checkpoint size, witness key), inserted
# only after the use case verified the line against a configured witness key
# (`usecases.checkpoints.add_cosignature`); `cosigned_at` is the cosignature's own timestamp
# (POSIX seconds), `line` the whole line as received.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("key_id", String(8), primary_key=True),
    Column("cosigned_at", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
    Column("received_at", String(32), nullable=False),
)

# People: who signs entries, receipts and audit events (`display_name`), their roles (a
# comma-separated sorted list of officer, approver, auditor, admin), whether they may act
# (`status`: active or disabled) and an argon2id hash of their console password.
users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("login", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("roles", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("password_hash", Text),
    Column("created_at", String(32), nullable=False),
)

# Maker-checker policy per fund, append-only: each change is a new version; the highest wins.
# `rules` is the JSON of `ledger.approvals.Policy`. Fund `*` holds the books' default.
approval_policies = Table(
    "approval_policies",
    metadata,
    Column("fund", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("rules", Text, nullable=False),
    Column("set_at", String(32), nullable=False),
    Column("set_by", String(200), nullable=False),
)

# An operation waiting for its checker(s): what to post (`details`, JSON), who asked, until
# when. `status` moves once from pending to posted, rejected or withdrawn (an expired request
# stays pending in the table and is expired by its `expires_at`).
approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("operation", String(30), nullable=False),
    Column("fund", String(40), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("details", Text, nullable=False),
    Column("maker", String(200), nullable=False),
    Column("maker_user_id", String(40), nullable=False),
    Column("approvals_needed", Integer, nullable=False),
    Column("requested_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("idempotency_key", String(200), unique=True),
    Column("status", String(20), nullable=False),
    Column("entry_id", String(40)),
    Column("closed_at", String(32)),
    Column("closed_by", String(200)),
    Column("reason", Text, nullable=False, default=""),
    Index("ix_approval_requests_status", "status", "fund"),
)

# Each checker's decision on a request, append-only; one per person and request.
approval_decisions = Table(
    "approval_decisions",
    metadata,
    Column("request_id", String(40), primary_key=True),
    Column("user_id", String(40), primary_key=True),
    Column("checker", String(200), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("decided_at", String(32), nullable=False),
)

# -- evidence, in-kind handovers, acknowledgments, bank statements (issue #15) -----------------
# Attachment records: append-only and hash-chained (`ledger.evidence`), numbered under the
# writer's lock like the audit trail. `supersedes` is unique: a record is superseded at most once.
evidence_attachments = Table(
    "evidence_attachments",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(40), nullable=False, unique=True),
    Column("subject_type", String(30), nullable=False),
    Column("subject_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("media_type", String(60), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("supersedes", String(40), unique=True),
    Column("reason", Text, nullable=False, default=""),
    Column("attached_by", String(100), nullable=False),
    Column("attached_at", String(32), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_evidence_subject", "subject_type", "subject_id"),
    Index("ix_evidence_sha256", "sha256"),
)

# The in-database evidence store (PostgreSQL's default): one row per distinct file, its bytes in
# chunks of at most 1 MiB, inserted chunks first and the blob row last (a blob row means whole).
evidence_blobs = Table(
    "evidence_blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("stored_at", String(32), nullable=False),
)

evidence_chunks = Table(
    "evidence_chunks",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("n", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)

# Goods received in kind passed on to a project or recipient: one row per handover entry, so
# the quantity and value handed over per gift are a sum over its rows.
in_kind_handovers = Table(
    "in_kind_handovers",
    metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("gift_entry_id", String(40), nullable=False, index=True),
    Column("quantity", String(40), nullable=False),
    Column("value_minor", BigInteger, nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("project", String(40), nullable=False),
    Column("handed_over_on", String(10), nullable=False),
    Column("created_at", String(32), nullable=False),
)

# A disbursement or payout acknowledged by its recipient, with the signed acknowledgment.
acknowledgments = Table(
    "acknowledgments",
    metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("attachment_id", String(40), nullable=False),
    Column("acknowledged_on", String(10), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", String(32), nullable=False),
)

# Bank statements as imported (the file's SHA-256 makes a re-import find the first one).
bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("fund", String(40), nullable=False),
    Column("account", String(20), nullable=False),
    Column("format", String(10), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("statement_ref", String(100), nullable=False, default=""),
    Column("currency", String(3), nullable=False),
    Column("from_date", String(10), nullable=False),
    Column("to_date", String(10), nullable=False),
    Column("opening_minor", BigInteger),
    Column("closing_minor", BigInteger),
    Column("lines", Integer, nullable=False),
    Column("imported_by", String(100), nullable=False),
    Column("imported_at", String(32), nullable=False),
    UniqueConstraint("fund", "account", "sha256", name="uq_bank_statements_file"),
)

bank_statement_lines = Table(
    "bank_statement_lines",
    metadata,
    Column("statement_id", String(40), primary_key=True),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("booked_on", String(10), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("counterparty", String(200), nullable=False, default=""),
    Column("reference", String(200), nullable=False, default=""),
    Column("balance", BigInteger),
    Column("bank_ref", String(100), nullable=False, default=""),
)

# One bank line to one cash posting: both sides unique, across statements.
bank_matches = Table(
    "bank_matches",
    metadata,
    Column("statement_id", String(40), primary_key=True),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("posting_sequence", BigInteger, nullable=False),
    Column("posting_line", Integer, nullable=False),
    Column("entry_id", String(40), nullable=False),
    Column("how", String(20), nullable=False),
    Column("matched_by", String(100), nullable=False),
    Column("matched_at", String(32), nullable=False),
    UniqueConstraint("posting_sequence", "posting_line", name="uq_bank_matches_posting"),
)

EVIDENCE_TABLES = (
    "evidence_attachments",
    "evidence_blobs",
    "evidence_chunks",
    "in_kind_handovers",
    "acknowledgments",
    "bank_statements",
    "bank_statement_lines",
    "bank_matches",
)


# -- documents people keep (issue #18) -----------------------------------------------------------
# The legal entities that issue receipts, each identified by its 统一社会信用代码 (GB 32100-2015,
# checked by `receipts.issuers`). Append-only: an issuer is registered once; `demo` marks the
# made-up issuers of the demo data, which the receipt says plainly.
issuers = Table(
    "issuers",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("registration_no", String(18), nullable=False, unique=True),
    Column("seal_text", String(200), nullable=False),
    Column("demo", Boolean, nullable=False, default=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
)

# Which issuer holds a fund, as a history: the assignment in force for a receipt is the fund's
# latest row assigned at or before the receipt was issued, so re-assigning a fund never changes
# a receipt that was already issued.
fund_issuers = Table(
    "fund_issuers",
    metadata,
    Column("fund", String(40), primary_key=True),
    Column("assigned_at", String(32), primary_key=True),
    Column("issuer", String(40), nullable=False),
    Column("assigned_by", String(100), nullable=False),
)

# The fiscal platform's 公益事业捐赠票据 of a receipt (票据代码 / 票据号码), recorded after the
# fact as an appended record; at most one per receipt (a wrong one is corrected by voiding and
# replacing the receipt).
fiscal_references = Table(
    "fiscal_references",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("code", String(60), nullable=False),
    Column("number", String(60), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

# A pledge's acknowledgment (not a receipt: no money was received): its own gapless series
# (`HQP-<year>-<n>`, counted in `receipt_counters`), one per pledge (conditional
# pledges included: they are promises all the same).
pledge_acknowledgments = Table(
    "pledge_acknowledgments",
    metadata,
    Column("serial", String(40), primary_key=True),
    Column("pledge_id", String(40), nullable=False, unique=True),
    Column("donor_id", String(40), nullable=False, index=True),
    Column("issued_at", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("data", Text, nullable=False, default="{}"),
)

# -- delivery: donors' email addresses, webhook subscriptions, the outbox (issue #18) ----------
# Append-only records (guarded like the journal, never hash-chained): a donor's address is the
# newest row ("" withdraws it); a subscription is disabled by a row of its own, for good.
donor_contacts = Table(
    "donor_contacts",
    metadata,
    Column("donor_id", String(40), primary_key=True),
    Column("recorded_at", String(32), primary_key=True),
    Column("email", String(254), nullable=False, default=""),
    Column("recorded_by", String(100), nullable=False),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", String(400), nullable=False),  # event types, space-separated
    Column("description", String(200), nullable=False, default=""),
    # The whsec_ secret, sealed under $HUIQUAN_HOME/keys/webhook-secrets.key (AES-GCM).
    Column("secret_sealed", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
)

webhook_disables = Table(
    "webhook_disables",
    metadata,
    Column("subscription_id", String(40), primary_key=True),
    Column("disabled_at", String(32), nullable=False),
    Column("disabled_by", String(100), nullable=False),
)

# One message per recipient of an event (a donor's email, a subscription's webhook), written in
# the event's own transaction; `id` is the webhook-id, the same on every attempt.
outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("channel", String(10), nullable=False),  # "email" or "webhook"
    Column("event_type", String(40), nullable=False),
    Column("event_id", String(40), nullable=False, index=True),
    Column("subscription_id", String(40)),
    Column("recipient", String(2000), nullable=False, default=""),  # an address, or the URL
    Column("payload", Text, nullable=False),  # JSON
    Column("created_at", String(32), nullable=False, index=True),
)

# Every attempt, failure, dead-lettering and replay, numbered per message (the queue's count).
outbox_attempts = Table(
    "outbox_attempts",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("at", String(32), nullable=False),
    Column("outcome", String(12), nullable=False),  # sent failed bounced dead replayed
    Column("detail", Text, nullable=False, default=""),
    Column("by", String(100), nullable=False, default=""),
)

# The outbox's work state, derived from the two tables above and the only mutable delivery
# table (decision 0013): what is due when, and which worker holds a message (a lease).
delivery_queue = Table(
    "delivery_queue",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("status", String(10), nullable=False),  # pending sending sent bounced dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_attempt_at", String(32), nullable=False),
    Column("lease_until", String(32)),
    Column("last_error", Text, nullable=False, default=""),
    Column("updated_at", String(32), nullable=False),
    Index("ix_delivery_queue_due", "status", "next_attempt_at"),
)

DELIVERY_TABLES = (
    "donor_contacts",
    "webhook_subscriptions",
    "webhook_disables",
    "outbox_messages",
    "outbox_attempts",
)

# -- the platform's programmes: the needs board, services to choose, recurring giving (#17) ------
# Every row is appended once: a need's status, its public text and its answers are later rows,
# never edits. A need's contact details (private) live in `community_contacts`, encrypted with a
# key of their own, so no public query ever reads them.
needs = Table(
    "needs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("posted_at", String(32), nullable=False, index=True),
    Column("category", String(40), nullable=False),
    Column("place", String(40), nullable=False),
    Column("kind", String(10), nullable=False),  # money, goods, hours
    Column("goal_minor", BigInteger),
    Column("currency", String(3)),
    Column("goods", Text),  # JSON [{"item", "quantity", "unit"}]
    Column("hours", Integer),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("client", String(64), nullable=False, index=True),  # keyed hash of the address
    Column("posted_by", String(100), nullable=False),
)

# Moderation and reporting, one row per step: published (with the fund and project that take
# its money), declined (with a reason), edited (the public text), reported (a short report).
need_events = Table(
    "need_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("need_id", String(40), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("action", String(20), nullable=False),
    Column("by", String(100), nullable=False),
    Column("reason", Text),
    Column("title", String(200)),
    Column("description", Text),
    Column("fund", String(40)),
    Column("project", String(40)),
)

community_contacts = Table(
    "community_contacts",
    metadata,
    Column("owner_id", String(40), primary_key=True),  # a need's or a sign-up's id
    Column("key", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
)

# What was erased, by whom and why (decision 0017): one row per erasure of a need's or a
# sign-up's contact or of a donor's email addresses, written before the personal rows are
# deleted (the guards below refuse the DELETE without it). Never the erased content.
erasures = Table(
    "erasures",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),  # need_contact, signup_contact, donor_email
    Column("subject", String(40), nullable=False),  # the need's, sign-up's or donor's id
    Column("reason", String(30), nullable=False),
    Column("rows", Integer, nullable=False),  # personal rows deleted
    Column("messages", Integer, nullable=False, default=0),  # email messages blanked
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
    Index("ix_erasures_subject", "subject", "kind"),
)

ERASURE_TABLES = ("erasures",)

# A report's photos (JPEG or PNG, checked by their bytes), served from the public need page.
need_photos = Table(
    "need_photos",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("need_id", String(40), nullable=False, index=True),
    Column("media_type", String(20), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("at", String(32), nullable=False),
)

# An answer to a need: money (its pledge, in the books), goods (quantities promised, in the
# books when they arrive: `offer_deliveries`) or volunteer hours (`volunteer_hours`).
offers = Table(
    "offers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("need_id", String(40), nullable=False, index=True),
    Column("donor_id", String(40), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("pledge_id", String(40)),
    Column("goods", Text),
    Column("hours", Integer),
    Column("note", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

offer_deliveries = Table(
    "offer_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("offer_id", String(40), nullable=False, index=True),
    Column("entry_id", String(40), nullable=False, unique=True),
    Column("goods", Text, nullable=False),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

# Contributed services: a register of hours, never money in the books (民非制度).
volunteer_hours = Table(
    "volunteer_hours",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("offer_id", String(40), nullable=False, index=True),
    Column("served_on", String(10), nullable=False),
    Column("hours", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

services_offered = Table(
    "services_offered",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("place", String(40), nullable=False),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

# A resident's sign-up (`number` 1..capacity, unique per service: a second guard beside the
# writer lock that counts them) and their attendance.
service_signups = Table(
    "service_signups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("service_id", String(40), nullable=False),
    Column("number", Integer, nullable=False),
    Column("client", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    UniqueConstraint("service_id", "number", name="uq_service_signups_number"),
)

service_attendance = Table(
    "service_attendance",
    metadata,
    Column("signup_id", String(40), primary_key=True),
    Column("service_id", String(40), nullable=False, index=True),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

# A recurring pledge: the pledge (its total, in the books) paid in instalments on a schedule.
pledge_schedules = Table(
    "pledge_schedules",
    metadata,
    Column("pledge_id", String(40), primary_key=True),
    Column("every_months", Integer, nullable=False),
    Column("instalment_minor", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("first_due", String(10), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("at", String(32), nullable=False),
    Column("by", String(100), nullable=False),
)

COMMUNITY_TABLES = (
    "needs",
    "need_events",
    "community_contacts",
    "need_photos",
    "offers",
    "offer_deliveries",
    "volunteer_hours",
    "services_offered",
    "service_signups",
    "service_attendance",
    "pledge_schedules",
)
#: The places and programmes' tables (issue #17); all but `campaigns` are append-only.
PROGRAMME_TABLES = (
    "places",
    "project_places",
    "campaigns",
    "campaign_matchers",
    "campaign_updates",
    "programme_photos",
    "village_chiefs",
)
PROGRAMME_APPEND_ONLY = tuple(t for t in PROGRAMME_TABLES if t != "campaigns")
# -- internal controls (issue #14) --------------------------------------------------------------
# What a fund may pay for, as a history: the newest version wins (`ledger.purposes` reads its
# JSON); a fund without a row may pay for anything its projects are.
fund_purposes = Table(
    "fund_purposes",
    metadata,
    Column("fund", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("purposes", Text, nullable=False),
    Column("set_at", String(32), nullable=False),
    Column("set_by", String(200), nullable=False),
)

# A project's budget as changed after it was opened (raised by an admin, with a reason): the
# newest version wins over `projects.budget_minor`.
project_budgets = Table(
    "project_budgets",
    metadata,
    Column("project", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("budget_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", Text, nullable=False),
    Column("set_at", String(32), nullable=False),
    Column("set_by", String(200), nullable=False),
)

CONTROLS_TABLES = ("fund_purposes", "project_budgets")

JOURNAL_TABLES = (
    "journal_entries",
    "postings",
    "closed_periods",
    "audit_events",
    "receipts",
    "receipt_voids",
    "checkpoints",
    "cosignatures",
    "approval_policies",
    "approval_decisions",
    *EVIDENCE_TABLES,
    "issuers",
    "fund_issuers",
    "fiscal_references",
    "pledge_acknowledgments",
    *DELIVERY_TABLES,
    *COMMUNITY_TABLES,
    *PROGRAMME_APPEND_ONLY,
    *CONTROLS_TABLES,
    *ERASURE_TABLES,
)

#: What stands where an erased address was, in an email attempt's detail (the guard asks it).
ERASED_MARK = "[erased]"
#: Tables whose rows may be deleted, and only once an erasure names their owner:
#: table -> (the owner's column, the SQL LIKE pattern of the erasure kinds that cover it).
ERASABLE = {
    "community_contacts": ("owner_id", "%_contact"),
    "donor_contacts": ("donor_id", "donor_email"),
}
#: (table, verb) of `JOURNAL_TABLES` whose guard `install_erasure_guards` makes, not the
#: plain append-only one.
_ERASURE_GUARDED = {
    *((name, "DELETE") for name in ERASABLE),
    ("outbox_messages", "UPDATE"),
    ("outbox_attempts", "UPDATE"),
}

# One indexed range scan per entry: the second line must exist, and every (fund, currency)
# group must sum to zero both in its own currency and in CNY value.
_BALANCE_CHECK = """
    NOT EXISTS (SELECT 1 FROM postings WHERE sequence = NEW.sequence AND line = 2)
    OR EXISTS (SELECT 1 FROM postings WHERE sequence = NEW.sequence
               GROUP BY fund, currency HAVING SUM(amount) <> 0 OR SUM(functional) <> 0)
"""

_SQLITE_TRIGGERS = [
    *[
        f"""CREATE TRIGGER IF NOT EXISTS {t}_no_{op.lower()} BEFORE {op} ON {t}
            BEGIN SELECT RAISE(ABORT, 'append-only: {op} on {t} is forbidden'); END"""
        for t in JOURNAL_TABLES
        for op in ("UPDATE", "DELETE")
        if (t, op) not in _ERASURE_GUARDED
    ],
    f"""CREATE TRIGGER IF NOT EXISTS journal_entries_balanced BEFORE INSERT ON journal_entries
        WHEN {_BALANCE_CHECK}
        BEGIN SELECT RAISE(ABORT, 'unbalanced entry: postings must sum to zero per fund and
        currency'); END""",
    """CREATE TRIGGER IF NOT EXISTS postings_sealed BEFORE INSERT ON postings
        WHEN EXISTS (SELECT 1 FROM journal_entries WHERE sequence = NEW.sequence)
        BEGIN SELECT RAISE(ABORT, 'append-only: entry is already posted'); END""",
    """CREATE TRIGGER IF NOT EXISTS accounts_no_delete BEFORE DELETE ON accounts
        BEGIN SELECT RAISE(ABORT, 'accounts are closed, never deleted'); END""",
    """CREATE TRIGGER IF NOT EXISTS accounts_no_rename BEFORE UPDATE ON accounts
        WHEN NEW.code <> OLD.code OR NEW.name_cn <> OLD.name_cn OR NEW.name_us <> OLD.name_us
             OR NEW.type <> OLD.type OR NEW.normal_side <> OLD.normal_side
        BEGIN SELECT RAISE(ABORT, 'accounts are never renamed'); END""",
]

_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION huiquan_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION 'append-only: % on % is forbidden', TG_OP, TG_TABLE_NAME
           USING ERRCODE = 'restrict_violation';
       END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION huiquan_entry_balanced() RETURNS trigger AS $$
       BEGIN
         IF {_BALANCE_CHECK} THEN
           RAISE EXCEPTION 'unbalanced entry %: postings must sum to zero per fund and currency',
             NEW.id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION huiquan_postings_sealed() RETURNS trigger AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM journal_entries WHERE sequence = NEW.sequence) THEN
           RAISE EXCEPTION 'append-only: entry % is already posted', NEW.entry_id
             USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION huiquan_accounts_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           RAISE EXCEPTION 'accounts are closed, never deleted'
             USING ERRCODE = 'restrict_violation';
         END IF;
         IF NEW.code <> OLD.code OR NEW.name_cn <> OLD.name_cn OR NEW.name_us <> OLD.name_us
            OR NEW.type <> OLD.type OR NEW.normal_side <> OLD.normal_side THEN
           RAISE EXCEPTION 'accounts are never renamed' USING ERRCODE = 'restrict_violation';
         END IF;
         RETURN NEW;
       END $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
            FOR EACH ROW EXECUTE FUNCTION huiquan_append_only()"""
        for t in JOURNAL_TABLES
        if not any(table == t for table, _verb in _ERASURE_GUARDED)
    ],
    *[
        f"""CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t}
            FOR EACH STATEMENT EXECUTE FUNCTION huiquan_append_only()"""
        for t in JOURNAL_TABLES
    ],
    """CREATE TRIGGER journal_entries_balanced BEFORE INSERT ON journal_entries
       FOR EACH ROW EXECUTE FUNCTION huiquan_entry_balanced()""",
    """CREATE TRIGGER postings_sealed BEFORE INSERT ON postings
       FOR EACH ROW EXECUTE FUNCTION huiquan_postings_sealed()""",
    """CREATE TRIGGER accounts_guard BEFORE UPDATE OR DELETE ON accounts
       FOR EACH ROW EXECUTE FUNCTION huiquan_accounts_guard()""",
]


def append_only_guards(dialect: str, names: Iterable[str]) -> list[str]:
    """The statements, each safe to run again, that make each table of `names` append-only
    (UPDATE and DELETE refused, and TRUNCATE on PostgreSQL): what a migration runs for the
    tables it adds. On PostgreSQL they call `huiquan_append_only()` (revision 0001 makes it)."""
    statements: list[str] = []
    for name in names:
        if dialect == "postgresql":
            statements += [
                f"CREATE OR REPLACE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE "
                f"ON {name} FOR EACH ROW EXECUTE FUNCTION huiquan_append_only()",
                f"CREATE OR REPLACE TRIGGER {name}_no_truncate BEFORE TRUNCATE "
                f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION huiquan_append_only()",
            ]
            continue
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {name}_no_{verb.lower()} BEFORE {verb} "
            f"ON {name} BEGIN SELECT RAISE(ABORT, "
            f"'append-only: {verb} on {name} is forbidden'); END"
            for verb in ("UPDATE", "DELETE")
        ]
    return statements


def install_triggers(conn: Connection) -> None:
    """Create the append-only, balance, account and erasure guards for the connection's engine."""
    statements = _PG_TRIGGERS if conn.dialect.name == "postgresql" else _SQLITE_TRIGGERS
    _run(conn, statements)
    install_erasure_guards(conn)


def _run(conn: Connection, statements: list[str]) -> None:
    for statement in statements:
        if conn.dialect.name == "postgresql":
            # psycopg reads '%' as a placeholder marker; PL/pgSQL needs it literally.
            statement = statement.replace("%", "%%")
        conn.exec_driver_sql(statement)


def _unchanged(table: str, free: str) -> str:
    """SQLite: every column of `table` but `free` is as it was."""
    names = [c.name for c in metadata.tables[table].columns if c.name != free]
    return " AND ".join(f"NEW.{name} IS OLD.{name}" for name in names)


def _sqlite_erasure_guards() -> list[str]:
    statements: list[str] = []
    for name, (column, kinds) in ERASABLE.items():
        statements += [
            f"DROP TRIGGER IF EXISTS {name}_no_delete",
            f"""CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name}
                WHEN NOT EXISTS (SELECT 1 FROM erasures
                                 WHERE subject = OLD.{column} AND kind LIKE '{kinds}')
                BEGIN SELECT RAISE(ABORT,
                  'append-only: DELETE on {name} is forbidden without an erasure'); END""",
        ]
    return [
        *statements,
        "DROP TRIGGER IF EXISTS outbox_messages_no_update",
        f"""CREATE TRIGGER outbox_messages_no_update BEFORE UPDATE ON outbox_messages
            WHEN NOT (OLD.channel = 'email' AND NEW.recipient = ''
                      AND {_unchanged("outbox_messages", "recipient")}
                      AND EXISTS (SELECT 1 FROM erasures WHERE kind = 'donor_email'
                                  AND subject = json_extract(OLD.payload, '$.data.donor_id')))
            BEGIN SELECT RAISE(ABORT, 'append-only: UPDATE on outbox_messages is forbidden');
            END""",
        "DROP TRIGGER IF EXISTS outbox_attempts_no_update",
        f"""CREATE TRIGGER outbox_attempts_no_update BEFORE UPDATE ON outbox_attempts
            WHEN NOT (instr(NEW.detail, '{ERASED_MARK}') > 0
                      AND {_unchanged("outbox_attempts", "detail")}
                      AND EXISTS (SELECT 1 FROM outbox_messages m WHERE m.id = OLD.message_id
                                  AND m.channel = 'email' AND m.recipient = ''))
            BEGIN SELECT RAISE(ABORT, 'append-only: UPDATE on outbox_attempts is forbidden');
            END""",
    ]


_PG_REFUSE = """RAISE EXCEPTION 'append-only: % on % is forbidden', TG_OP, TG_TABLE_NAME
           USING ERRCODE = 'restrict_violation';"""

_PG_ERASURE_GUARDS = [
    # TG_ARGV: the owner's column, the LIKE pattern of the erasure kinds that cover the row.
    f"""CREATE OR REPLACE FUNCTION huiquan_erasable() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           IF EXISTS (SELECT 1 FROM erasures WHERE subject = to_jsonb(OLD) ->> TG_ARGV[0]
                      AND kind LIKE TG_ARGV[1]) THEN
             RETURN OLD;
           END IF;
           RAISE EXCEPTION 'append-only: DELETE on % is forbidden without an erasure',
             TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
         END IF;
         {_PG_REFUSE}
       END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION huiquan_outbox_message_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           IF OLD.channel = 'email' AND NEW.recipient = ''
              AND (to_jsonb(NEW) - 'recipient') = (to_jsonb(OLD) - 'recipient')
              AND EXISTS (SELECT 1 FROM erasures WHERE kind = 'donor_email'
                          AND subject = ((OLD.payload::jsonb -> 'data') ->> 'donor_id')) THEN
             RETURN NEW;
           END IF;
         END IF;
         {_PG_REFUSE}
       END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION huiquan_outbox_attempt_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           IF position('{ERASED_MARK}' in NEW.detail) > 0
              AND (to_jsonb(NEW) - 'detail') = (to_jsonb(OLD) - 'detail')
              AND EXISTS (SELECT 1 FROM outbox_messages m WHERE m.id = OLD.message_id
                          AND m.channel = 'email' AND m.recipient = '') THEN
             RETURN NEW;
           END IF;
         END IF;
         {_PG_REFUSE}
       END $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE OR REPLACE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name}
            FOR EACH ROW EXECUTE FUNCTION huiquan_erasable('{column}', '{kinds}')"""
        for name, (column, kinds) in ERASABLE.items()
    ],
    """CREATE OR REPLACE TRIGGER outbox_messages_append_only BEFORE UPDATE OR DELETE
       ON outbox_messages FOR EACH ROW EXECUTE FUNCTION huiquan_outbox_message_guard()""",
    """CREATE OR REPLACE TRIGGER outbox_attempts_append_only BEFORE UPDATE OR DELETE
       ON outbox_attempts FOR EACH ROW EXECUTE FUNCTION huiquan_outbox_attempt_guard()""",
]


def install_erasure_guards(conn: Connection) -> None:
    """(Re)create the guards that let erasure (decision 0017) delete exactly the rows an
    `erasures` row names and blank an erased donor's address in the outbox, and nothing else:
    other UPDATEs and DELETEs of these tables are refused as before (TRUNCATE too). Running it
    again changes nothing (revision 0014 and `install_triggers` both call it)."""
    postgres = conn.dialect.name == "postgresql"
    _run(conn, _PG_ERASURE_GUARDS if postgres else _sqlite_erasure_guards())


# -- places and programmes (issue #17) ------------------------------------------------------------
# The hierarchy of places: county (GB/T 2260 code, 6 digits) -> town (9 digits) -> village
# (12 digits), each code starting with its parent's, in the shape of the statistics bureau's
# 统计用区划代码. `official` says whether a person checked the code against the published list;
# codes assigned locally (the demo's villages) are not. Written once, never changed.
places = Table(
    "places",
    metadata,
    Column("code", String(12), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_en", String(120), nullable=False, default=""),
    Column("parent", String(12), nullable=False, default="", index=True),
    Column("official", Boolean, nullable=False, default=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
)

# Where a project is: one place (a village, a town or a county) per project, named once.
project_places = Table(
    "project_places",
    metadata,
    Column("project", String(40), primary_key=True),
    Column("place", String(12), nullable=False, index=True),
    Column("assigned_at", String(32), nullable=False),
    Column("assigned_by", String(100), nullable=False),
)

# A crowdfunding drive (众筹) under a fund, optionally for a project or a place. What it raised
# is never stored: it is read from the journal (gifts whose entry data names the campaign, less
# their reversals). Officers edit the public text and the status in place (each edit audited).
campaigns = Table(
    "campaigns",
    metadata,
    Column("slug", String(60), primary_key=True),
    Column("fund", String(40), nullable=False, index=True),
    Column("project", String(40), nullable=False, default=""),
    Column("place", String(12), nullable=False, default=""),
    Column("title_zh", String(200), nullable=False),
    Column("title_en", String(200), nullable=False, default=""),
    Column("story_zh", Text, nullable=False, default=""),
    Column("story_en", Text, nullable=False, default=""),
    Column("goal_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False, default="CNY"),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("cover", String(64), nullable=False, default=""),
    Column("status", String(12), nullable=False, default="draft"),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", String(32), nullable=False),
)

# A campaign's matcher: a donor (a firm) whose unconditional pledge pays `ratio_num/ratio_den`
# of each eligible gift, up to `cap_minor` in all. One per campaign, written once.
campaign_matchers = Table(
    "campaign_matchers",
    metadata,
    Column("campaign", String(60), primary_key=True),
    Column("donor_id", String(40), nullable=False),
    Column("pledge_id", String(40), nullable=False),
    Column("ratio_num", Integer, nullable=False),
    Column("ratio_den", Integer, nullable=False),
    Column("cap_minor", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
)

# Updates posted by officers on a campaign (text and photos), appended, never edited.
campaign_updates = Table(
    "campaign_updates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("campaign", String(60), nullable=False, index=True),
    Column("body_zh", Text, nullable=False),
    Column("body_en", Text, nullable=False, default=""),
    Column("photos", Text, nullable=False, default="[]"),
    Column("posted_at", String(32), nullable=False),
    Column("posted_by", String(100), nullable=False),
)

# Photos of the programmes' public pages (covers, updates): bytes judged by their content
# (PNG, JPEG or WebP only), keyed by their SHA-256.
programme_photos = Table(
    "programme_photos",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("created_by", String(100), nullable=False),
)

# Honorary village chiefs (荣誉村长): a donor appointed for a term with a citation; `shown`
# is how they chose to appear in public ("name" or "anonymous").
village_chiefs = Table(
    "village_chiefs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("village", String(12), nullable=False, index=True),
    Column("donor_id", String(40), nullable=False, index=True),
    Column("starts_on", String(10), nullable=False),
    Column("ends_on", String(10), nullable=False),
    Column("citation_zh", Text, nullable=False),
    Column("citation_en", Text, nullable=False, default=""),
    Column("shown", String(12), nullable=False, default="name"),
    Column("appointed_at", String(32), nullable=False),
    Column("appointed_by", String(100), nullable=False),
)
