"""`huiquan receipt verify` and `huiquan receipt show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from cli.main import cli
from cli.receipts import register
from tests.receipts.conftest import BASE, path_of

if "receipt" not in cli.commands:
    register(cli)


def huiquan(app: Flask, *args: str) -> Result:
    home = str(app.extensions["receipts"].home)
    url = str(app.config["DATABASE_URL"])
    return CliRunner().invoke(
        cli, ["--database-url", url, *args], env={"HUIQUAN_HOME": home}, catch_exceptions=False
    )


@pytest.fixture
def pdf_file(gift: dict[str, Any], client: Any, tmp_path: Path) -> Path:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(client.get(path_of(gift["receipt"]["pdf_url"])).data)
    return path


def test_verify_says_genuine_for_our_pdf_and_lists_the_facts(app: Flask, pdf_file: Path) -> None:
    result = huiquan(app, "receipt", "verify", str(pdf_file))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("GENUINE: receipt HQ-")
    assert "12,000.00 CNY" in result.stdout and "成都某公司" in result.stdout


def test_verify_exits_1_with_every_reason_for_a_forged_proof(
    app: Flask, gift: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    document = json.loads(client.get(path_of(gift["receipt"]["url"]) + ".json").data)
    document["claims"]["amount"] = "1.00"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    result = huiquan(app, "receipt", "verify", str(forged))
    assert result.exit_code == 1
    assert "NOT GENUINE" in result.stdout
    assert "the amount on this receipt (1.00 CNY) is not the amount in the ledger entry" in (
        result.stdout
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output


def test_verify_trusts_only_the_keys_it_is_given(
    app: Flask, pdf_file: Path, tmp_path: Path
) -> None:
    from receipts.proof import ClaimsSigner

    stranger = ClaimsSigner.from_home(tmp_path / "other").vkey
    result = huiquan(app, "receipt", "verify", str(pdf_file), "--trusted-key", stranger)
    assert result.exit_code == 1 and "checkpoint not signed by a trusted key" in result.stdout
    ours = app.extensions["receipts"].trusted()[0]
    keys = tmp_path / "keys.txt"
    keys.write_text(ours + "\n", encoding="utf-8")
    assert huiquan(app, "receipt", "verify", str(pdf_file), "--keys-file", str(keys)).exit_code == 0


def test_verify_fetches_a_receipt_link(app: Flask, gift: dict[str, Any], live_url: str) -> None:
    link = gift["receipt"]["url"].replace(BASE, live_url)
    for source in (link, link + ".pdf"):
        result = huiquan(app, "receipt", "verify", source)
        assert result.exit_code == 0, result.output
        assert "GENUINE" in result.stdout
    missing = huiquan(app, "receipt", "verify", f"{live_url}/r/{'A' * 32}")
    assert missing.exit_code == 1 and "answered 404" in missing.stderr
    refused = huiquan(app, "receipt", "verify", "file:///etc/passwd")
    assert refused.exit_code == 1


def test_verify_refuses_a_file_that_is_not_a_receipt(app: Flask, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4 nothing here")
    result = huiquan(app, "receipt", "verify", str(junk))
    assert result.exit_code == 1 and "not a readable PDF" in result.stderr


def test_show_prints_the_record_and_never_a_link(
    app: Flask, gift: dict[str, Any], officer: Any
) -> None:
    serial = gift["receipt"]["serial"]
    officer.created(f"/api/v1/receipts/{serial}/void", {"reason": "姓名有误"})
    result = huiquan(app, "receipt", "show", serial)
    assert result.exit_code == 0, result.output
    assert "VOID" in result.stdout and "姓名有误" in result.stdout
    assert "/r/" not in result.stdout
    assert huiquan(app, "receipt", "show", "HQ-1999-000001").exit_code == 1
