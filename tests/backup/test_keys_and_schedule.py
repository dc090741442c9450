"""Key custody (recovery codes, the export marker), the schedule's step and status file, and the
streamed Merkle root the manifest records."""

from __future__ import annotations

import hashlib
import json

import pytest

from ledger.tlog.merkle import leaf_hash, root_from_leaf_hashes
from tests.backup.conftest import checkpoint
from tests.builders import Books
from tests.integration.test_cli_support import huiquan, one_error_line
from usecases.backup import (
    STATUS_FILE,
    BackupRefused,
    MerkleFold,
    keys_exported,
    parse_recovery_code,
    read_status,
    recovery_codes,
    scheduled_backup_step,
)


@pytest.mark.parametrize("size", [*range(0, 18), 31, 32, 33, 100])
def test_the_folded_merkle_root_equals_the_tree_root(size):
    leaves = [leaf_hash(str(n).encode()) for n in range(size)]
    fold = MerkleFold()
    for leaf in leaves:
        fold.add(leaf)
    assert fold.root() == root_from_leaf_hashes(leaves)


@pytest.mark.sqlite_only
def test_keys_export_prints_codes_that_give_back_both_keys_and_records_the_export(
    database_url, home
):
    assert not keys_exported(home)
    result = huiquan(database_url, home, "keys", "export")
    assert result.exit_code == 0, result.output
    codes = [line.strip() for line in result.stdout.splitlines() if line.strip().startswith("HQ1-")]
    assert len(codes) == 2
    assert parse_recovery_code(codes[0]) == ("pseudonym", bytes(range(32)))
    kind, seed = parse_recovery_code(codes[1].lower().replace("-", " "))
    assert kind == "signing" and len(seed) == 32
    assert keys_exported(home)


@pytest.mark.sqlite_only
def test_a_mistyped_recovery_code_fails_its_checksum(home):
    code = recovery_codes(home)[0].code
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    with pytest.raises(BackupRefused, match="checksum"):
        parse_recovery_code(typo)


@pytest.mark.sqlite_only
def test_keys_export_to_a_file_needs_a_passphrase(database_url, home, tmp_path):
    result = huiquan(database_url, home, "keys", "export", "-o", str(tmp_path / "keys.age"))
    assert "needs a passphrase" in one_error_line(result)
    assert not (tmp_path / "keys.age").exists() and not keys_exported(home)


def test_a_scheduled_step_backs_up_drills_keeps_the_newest_and_writes_its_status(
    engine, database_url, home, identity, tmp_path
):
    books = Books(engine)
    books.fund("LUHUO")
    books.donate("100.00", donor=books.donor())
    checkpoint(engine, home)
    folder = tmp_path / "backups"
    folder.mkdir()
    for name in ("huiquan-20200101T000000000000Z.hqbak", "huiquan-20200102T000000000000Z.hqbak"):
        (folder / name).write_bytes(b"old")
    status = scheduled_backup_step(
        home, database_url, folder, 2, recipients=[identity[1]], identities=[identity[0]]
    )
    assert status["error"] is None and status["drill"]["ok"], status
    assert status["journal_size"] == 1
    kept = sorted(p.name for p in folder.iterdir())
    assert kept[0] == "huiquan-20200102T000000000000Z.hqbak" and len(kept) == 2
    assert read_status(home) == json.loads((home / STATUS_FILE).read_text(encoding="utf-8"))
    assert hashlib.sha256((folder / kept[1]).read_bytes()).hexdigest()  # a real archive


@pytest.mark.parametrize("prefix", [0, 1, 4, 5, 8, 11])
def test_the_journal_roots_read_in_blocks_equal_the_tree_roots(engine, monkeypatch, prefix):
    from ledger.tlog.journal import leaf_hashes
    from usecases import backup

    monkeypatch.setattr(backup, "BLOCK", 4)
    books = Books(engine)
    books.fund("LUHUO")
    donor = books.donor()
    for _ in range(11):
        books.donate("1.00", donor=donor)
    with engine.connect() as conn:
        leaves = leaf_hashes(conn, 11)
        root, prefix_root = backup._journal_roots(conn, 11, prefix)
    assert root == root_from_leaf_hashes(leaves).hex()
    assert prefix_root == root_from_leaf_hashes(leaves[:prefix]).hex()
