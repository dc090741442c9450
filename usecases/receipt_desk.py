"""The receipt desk: what issuing and showing receipts shares in one process, without HTTP.

Invariants owned here:
- A link's token is 192 random bits from `secrets` (32 URL-safe characters); nothing derives it,
  so no key file lets anyone compute a live link. Only its SHA-256 is looked up
  (`receipt_links.token_hash`).
- An idempotent replay shows the very link the first answer showed: each link row also keeps its
  token sealed (AES-GCM, a random 96-bit nonce, the serial as associated data) under the
  receipt-link key, `$HUIQUAN_HOME/keys/receipt-links.key` (32 random bytes, mode 0600, created
  atomically on first use, backed up with the other keys). That key serves this one purpose: it
  is not the pseudonym key, which keys pseudonyms only, nor any other. Sealing rather than
  keeping the answer in the idempotency record covers every path that shows a receipt's link
  again (a gift's replay, a void's replay, an annual receipt's replay), and a stolen database
  alone still opens no receipt.
- A receipt's link is its newest live row whose sealed token opens and hashes to the row's hash;
  when none does (links made before revision 0004, which were never sealed, or a lost key), a
  new link is made and the older ones keep working. A revoked token is never shown again.
- PDFs are rendered only on a cache miss, never on the gift's request. The cache lives in
  ``$HUIQUAN_HOME/cache/receipts/`` (shared by workers, mode 0700), one file per serial,
  language, status, checkpoint size and public base URL, written to a temporary file and
  renamed into place. The ETag is the SHA-256 of the bytes (strong).
- The signing key is reloaded when its file changes (rotation).
- A receipt's issuer is its fund's (`receipts.views.issuer_of`); the settings' issuer stands in
  for a fund that has none, and counts as configured only with a valid 统一社会信用代码 —
  otherwise the receipt says in one line that its issuer is not configured.
- PDFs are PDF/A-3b, with the signed proof document embedded by WeasyPrint as an associated
  file (AFRelationship /Data) in the same write, so the file stays a valid PDF/A.

The public base URL of links is the caller's to give (`base`): the desk holds the configured
one (`base_url`), and a web entrance falls back to its request's host when none is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine

from ledger.keyfile import KEY_BYTES, secret_key_file
from ledger.storage.fastsql import Raw
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import KEY_FILE, ensure_signing_key, trusted_vkeys
from receipts.issuers import is_valid_credit_code
from receipts.proof import ATTACHMENT_NAME, ClaimsSigner, build_document, document_bytes
from receipts.render import EmbeddedFile, render_pdf
from receipts.views import (
    Issuer,
    ReceiptContext,
    build_view,
    claims_of,
    issuer_of,
    proof_material,
    verify_link,
    where_lines,
)

__all__ = ["DEFAULT_ISSUER", "LINK_KEY_FILE", "RENDER_VERSION", "ReceiptDesk", "load_link_key"]

#: The receipt-link key's file, under ``$HUIQUAN_HOME/keys/``.
LINK_KEY_FILE = "receipt-links.key"
#: Associated data of a sealed token: what it is, and (appended) the receipt's serial.
_SEAL_CONTEXT = b"huiquan receipt link v2\n"
#: Bumped whenever the PDF's content changes for the same inputs (it is part of the cache key).
RENDER_VERSION = "2"
DEFAULT_ISSUER = Issuer("成都市锦江区惠泉社区公益服务中心", "", configured=False)
PROOF_DESCRIPTION = "Huiquan receipt proof: signed claims, ledger entries, Merkle inclusion proofs"


@dataclass
class ReceiptDesk:
    """The issuer, the public base URL, the receipt-link key, the signing key and the PDF cache."""

    engine: Engine
    home: Path
    issuer: Issuer
    base_url: str | None
    _etags: dict[Path, tuple[int, int, str]] = field(default_factory=dict, repr=False)
    _signer: tuple[tuple[int, int], ClaimsSigner] | None = field(default=None, repr=False)
    _link_cipher: AESGCM | None = field(default=None, repr=False)

    @property
    def cache_dir(self) -> Path:
        folder = self.home / "cache" / "receipts"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def signer(self) -> ClaimsSigner:
        """The organisation's signing key, reloaded when the key file changes (rotation)."""
        path = self.home / "keys" / KEY_FILE
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
        except FileNotFoundError:
            stamp = (0, 0)
        held = self._signer
        if held is not None and held[0] == stamp:
            return held[1]
        signer = ClaimsSigner.from_home(self.home)
        stat = path.stat()
        self._signer = ((stat.st_mtime_ns, stat.st_ino), signer)
        return signer

    def trusted(self) -> list[str]:
        """The service's own verifier keys, current and previous."""
        keys = trusted_vkeys(self.home)
        if not keys:
            ensure_signing_key(self.home)
            keys = trusted_vkeys(self.home)
        return keys

    # -- links -------------------------------------------------------------------------------
    def _cipher(self) -> AESGCM:
        if self._link_cipher is None:
            self._link_cipher = AESGCM(load_link_key(self.home))
        return self._link_cipher

    def _seal(self, serial: str, token: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._cipher().encrypt(nonce, token.encode(), _SEAL_CONTEXT + serial.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def _unseal(self, serial: str, sealed: str) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            plain = self._cipher().decrypt(raw[:12], raw[12:], _SEAL_CONTEXT + serial.encode())
            return plain.decode("ascii")
        except (InvalidTag, ValueError, binascii.Error):
            return None  # sealed under another key (lost or replaced): make a new link

    def link_token(
        self, conn: Connection, serial: str, now: str, *, fresh: UnitOfWork | None = None
    ) -> str:
        """The receipt's live link token, made if it has none we can show (in `conn`'s work).

        `fresh` is the unit of work that issued the receipt just now: the receipt has no link
        yet, and the new link's row is queued to that unit's next flush.
        """
        raw = Raw(conn)
        rows = (
            []
            if fresh is not None
            else raw.run(
                "SELECT token_hash, sealed FROM receipt_links "
                "WHERE serial = ? AND revoked_at IS NULL ORDER BY created_at DESC",
                (serial,),
            ).fetchall()
        )
        for token_hash, sealed in rows:
            token = self._unseal(serial, sealed) if sealed else None
            if token is not None and hashlib.sha256(token.encode()).hexdigest() == token_hash:
                return token
        token = secrets.token_urlsafe(24)  # 192 bits, 32 characters
        (raw.run if fresh is None else fresh.queue_row)(
            "INSERT INTO receipt_links (token_hash, serial, created_at, sealed) "
            "VALUES (?, ?, ?, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), serial, now, self._seal(serial, token)),
        )
        return token

    # -- documents ---------------------------------------------------------------------------
    def fallback_issuer(self) -> Issuer:
        """The settings' issuer, for funds with none (not configured without a valid code)."""
        held = self.issuer
        configured = held.configured and is_valid_credit_code(held.registration_no)
        return Issuer(held.name, held.registration_no if configured else "", configured=configured)

    def issuer_of(self, conn: Connection, ctx: ReceiptContext) -> Issuer:
        """The issuer of the receipt: its fund's at issue time, else the settings'."""
        return issuer_of(conn, ctx, self.fallback_issuer())

    def forget(self, serial: str) -> None:
        """Drop every cached PDF of a receipt (its content changed: a fiscal reference)."""
        for old in self.cache_dir.glob(f"{serial}.*.pdf"):
            old.unlink(missing_ok=True)

    def document(self, conn: Connection, ctx: ReceiptContext) -> dict[str, Any]:
        """The signed proof document of a receipt, proven against the covering checkpoint."""
        proof = proof_material(self.engine, conn, ctx, self.home)
        claims = claims_of(ctx, self.issuer_of(conn, ctx))
        return build_document(claims, proof.evidence, proof.checkpoint.signed_text, self.signer())

    def render_pdf_bytes(
        self, conn: Connection, ctx: ReceiptContext, lang: Any, *, base: str
    ) -> bytes:
        """Render the receipt PDF with its proof attached, and store it in the cache."""
        proof = proof_material(self.engine, conn, ctx, self.home)
        issuer = self.issuer_of(conn, ctx)
        view = build_view(
            ctx,
            proof,
            issuer=issuer,
            language=lang,
            verify_url=verify_link(base, ctx, issuer),
            where=where_lines(conn, ctx),
        )
        claims = claims_of(ctx, issuer)
        doc = build_document(claims, proof.evidence, proof.checkpoint.signed_text, self.signer())
        proof_file = EmbeddedFile(ATTACHMENT_NAME, document_bytes(doc), PROOF_DESCRIPTION)
        pdf = render_pdf(view, language=lang, attachment=proof_file)
        path = self._cache_path(ctx.serial, lang, ctx.status, proof.checkpoint.size, base)
        self._store(path, pdf)
        return pdf

    # -- the PDF cache -----------------------------------------------------------------------
    def _cache_path(self, serial: str, lang: str, status: str, size: int, base: str) -> Path:
        salt = hashlib.sha256(f"{RENDER_VERSION}|{base}".encode()).hexdigest()[:12]
        return self.cache_dir / f"{serial}.{lang}.{status}.{size}.{salt}.pdf"

    def cached(
        self, serial: str, lang: str, status: str, size: int, *, base: str
    ) -> tuple[Path, str] | None:
        """The cached PDF's path and ETag, if this version of the receipt is in the cache."""
        path = self._cache_path(serial, lang, status, size, base)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        known = self._etags.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return path, known[2]
        try:
            etag = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
        if len(self._etags) > 10_000:
            self._etags.clear()
        self._etags[path] = (stat.st_mtime_ns, stat.st_size, etag)
        return path, etag

    def _store(self, path: Path, pdf: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pdf)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        stale = path.name.split(".")[:2]
        for old in path.parent.glob(f"{stale[0]}.{stale[1]}.*.pdf"):
            if old != path:
                old.unlink(missing_ok=True)  # superseded by a newer checkpoint or a void


def load_link_key(home: Path) -> bytes:
    """Read `home/keys/receipt-links.key` (32 raw bytes), creating it (mode 0600) if missing.

    Creation is atomic (a private temporary file hard-linked into place), so worker processes
    that race all end up with the same key.

    Raises:
        RuntimeError: when the file does not hold exactly 32 bytes.
    """
    key = secret_key_file(home / "keys" / LINK_KEY_FILE)
    if len(key) != KEY_BYTES:
        raise RuntimeError(f"{home / 'keys' / LINK_KEY_FILE} does not hold 32 bytes; refusing it")
    return key
