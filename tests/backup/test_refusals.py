"""A restore refuses, changing nothing: a wrong passphrase, a damaged archive, a member that does
not match the manifest, a non-empty home or database. The CLI says so in one line."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.backup.conftest import checkpoint
from tests.builders import Books
from tests.integration.test_cli_support import huiquan, one_error_line
from usecases.backup import (
    BackupRefused,
    create_backup,
    decrypt_archive,
    encrypt_archive,
    restore_backup,
)


@pytest.fixture
def archive(engine, database_url, home, identity, tmp_path) -> Path:
    books = Books(engine)
    books.fund("LUHUO")
    books.donate("100.00", donor=books.donor())
    checkpoint(engine, home)
    path = tmp_path / "books.hqbak"
    create_backup(path, home=home, url=database_url, passphrase=None, recipients=[identity[1]])
    return path


def _nothing_left(folder: Path) -> bool:
    return not folder.exists() and not list(folder.parent.glob(f".{folder.name}.restoring-*"))


def test_a_wrong_passphrase_is_refused_in_one_line_and_restores_nothing(
    database_url, home, tmp_path
):
    path = tmp_path / "secret.hqbak"
    created = huiquan(
        database_url, home, "backup", "-o", str(path), env={"HUIQUAN_BACKUP_PASSPHRASE": "right"}
    )
    assert created.exit_code == 0, created.output
    folder = tmp_path / "restored"
    result = huiquan(
        database_url,
        home,
        "restore",
        str(path),
        "--home",
        str(folder),
        env={"HUIQUAN_BACKUP_PASSPHRASE": "wrong"},
    )
    assert one_error_line(result) == "error: wrong passphrase: the archive cannot be opened"
    assert _nothing_left(folder)


def test_a_flipped_byte_in_the_archive_is_refused_as_damaged(archive, identity, target):
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    folder, url = target()
    with pytest.raises(BackupRefused, match="damaged, truncated or reordered: chunk"):
        restore_backup(archive, home=folder, url=url, identities=[identity[0]])
    assert _nothing_left(folder)


def test_a_member_that_does_not_match_the_manifest_is_refused(archive, identity, target, tmp_path):
    plain = tmp_path / "plain.tar"
    decrypt_archive(archive, plain, passphrase=None, identities=[identity[0]])
    forged = tmp_path / "forged.tar"
    with tarfile.open(plain) as src, tarfile.open(forged, "w", format=tarfile.PAX_FORMAT) as out:
        for info in src.getmembers():
            data = src.extractfile(info).read()
            if info.name == "home/pseudonym.key":
                data = bytes(31) + b"\x01"  # same size, other bytes
            out.addfile(info, io.BytesIO(data))
    encrypt_archive(
        forged, archive.with_name("forged.hqbak"), passphrase=None, recipients=[identity[1]]
    )
    folder, url = target()
    with pytest.raises(BackupRefused, match=r"member home/pseudonym.key does not match"):
        restore_backup(
            archive.with_name("forged.hqbak"), home=folder, url=url, identities=[identity[0]]
        )
    assert _nothing_left(folder)


def test_a_restore_over_a_non_empty_home_is_refused_in_one_line(archive, database_url, home):
    before = sorted(p.name for p in home.iterdir())
    result = huiquan(database_url, home, "restore", str(archive), "--home", str(home))
    assert "is not empty: a restore goes into an empty home only" in one_error_line(result)
    assert sorted(p.name for p in home.iterdir()) == before


@pytest.mark.postgres_only
def test_a_restore_into_a_database_with_books_is_refused(archive, database_url, identity, tmp_path):
    folder = tmp_path / "restored"
    with pytest.raises(BackupRefused, match="is not empty: a restore goes into an empty database"):
        restore_backup(archive, home=folder, url=database_url, identities=[identity[0]])
    assert _nothing_left(folder)


@pytest.mark.postgres_only
def test_a_postgres_archive_needs_a_database_url_and_leaves_nothing(archive, identity, tmp_path):
    folder = tmp_path / "restored"
    with pytest.raises(BackupRefused, match="give an empty database"):
        restore_backup(archive, home=folder, identities=[identity[0]])
    assert _nothing_left(folder)


def test_a_backup_of_a_home_without_its_pseudonym_key_is_refused(
    database_url, home, identity, tmp_path
):
    (home / "pseudonym.key").unlink()
    with pytest.raises(BackupRefused, match="would orphan every pseudonym"):
        create_backup(
            tmp_path / "b.hqbak",
            home=home,
            url=database_url,
            passphrase=None,
            recipients=[identity[1]],
        )
    assert not list(tmp_path.glob("b.hqbak*"))
