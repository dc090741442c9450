"""`huiquan import` holds rows to the approval policy: what needs an approver is refused."""

from __future__ import annotations

from pathlib import Path

from tests.builders import Books
from tests.integration.test_cli_support import head_sequence, huiquan, one_error_line


def test_an_import_row_that_needs_approval_refuses_the_file_naming_its_line(
    database_url, engine, tmp_path: Path
):
    books = Books(engine)
    books.fund("LUHUO")
    books.project("CLINIC")
    books.donor(donor_id="D-1")
    path = tmp_path / "ops.csv"
    path.write_text(
        "op,date,donor_id,fund,project,amount,reason,entry_id,label\n"
        "donation,2025-01-05,D-1,LUHUO,,50000,,,\n"
        "disbursement,2025-01-06,,LUHUO,CLINIC,9999.99,,,small\n"
        "disbursement,2025-01-07,,LUHUO,CLINIC,10000,,,\n"
        "reversal,2025-01-08,,,,,paid twice,@small,\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 1
    assert "nothing was posted" in one_error_line(result)
    assert "line 4: disbursement: needs approval" in result.stderr
    assert "line 5: reversal: needs approval" in result.stderr  # of a disbursement: always
    assert "line 3" not in result.stderr
    assert head_sequence(engine) == 0
