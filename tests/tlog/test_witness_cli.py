"""`huiquan witness`: init, show and cosign against a service over HTTP or offline from files.

The service here is a small stdlib HTTP server over the real books and use cases, serving the
three endpoints the witness uses (the API's own routes are wired separately)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from cli.main import HuiquanGroup
from cli.witness import witness_group
from ledger.errors import LedgerError
from ledger.tlog.checkpoints import Checkpoint
from ledger.tlog.journal import leaf_hashes
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.merkle import consistency_proof, root_from_leaf_hashes
from ledger.tlog.proofs import DEFAULT_ORIGIN, consistency_between, latest_checkpoint
from ledger.tlog.witness import Witness, verify_witnessed
from tests.tlog.conftest import rewrite_memo
from usecases.checkpoints import add_cosignature, maybe_checkpoint, witnessed_checkpoint


def huiquan(capsys, *args):
    group = HuiquanGroup("huiquan")
    group.add_command(witness_group)
    code = group.main(list(args), standalone_mode=False)
    out = capsys.readouterr()
    return code, out.out, out.err


class Service:
    """The endpoints a witness uses; `honest=False` makes its proofs from whatever it holds."""

    def __init__(self, engine, witness_vkeys):
        self.engine, self.witness_vkeys, self.honest = engine, witness_vkeys, True
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, kind="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                with service.engine.connect() as conn:
                    if url.path == "/api/v1/checkpoints/latest":
                        return self._send(200, latest_checkpoint(conn).signed_text, "text/plain")
                    q = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
                    if service.honest:
                        body = consistency_between(conn, q["from"], q["to"])
                    else:
                        proof = consistency_proof(leaf_hashes(conn, q["to"]), q["from"])
                        body = {
                            "proof": [__import__("base64").b64encode(h).decode() for h in proof]
                        }
                return self._send(200, json.dumps(body))

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                try:
                    add_cosignature(
                        service.engine,
                        body["checkpoint"],
                        body["cosignature"],
                        witness_vkeys=service.witness_vkeys,
                    )
                except LedgerError as bad:
                    return self._send(422, json.dumps({"detail": bad.message}))
                return self._send(201, "{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def two_witnesses(capsys, tmp_path, home):
    log = ensure_signing_key(home)
    vkeys = []
    for name in ("a", "b"):
        code, out, _ = huiquan(
            capsys,
            "witness",
            "init",
            "--home",
            str(tmp_path / name),
            "--name",
            f"witness.example/{name}",
            "--log-key",
            log.vkey,
        )
        assert code == 0
        vkeys.append(out.splitlines()[-1])
    return vkeys


def test_init_prints_the_witness_vkey_and_show_reads_the_state(capsys, tmp_path, two_witnesses):
    assert two_witnesses[0] == Witness(tmp_path / "a").key.vkey
    code, out, _ = huiquan(capsys, "witness", "show", "--home", str(tmp_path / "a"))
    assert code == 0 and "latest: none" in out


def test_two_witnesses_cosign_over_http_and_the_stored_checkpoint_is_two_of_two(
    capsys, engine, books, home, tmp_path, two_witnesses
):
    maybe_checkpoint(engine, home, 0)
    with Service(engine, two_witnesses) as service:
        for name in ("a", "b"):
            code, _, err = huiquan(
                capsys, "witness", "cosign", "--home", str(tmp_path / name), "--url", service.url
            )
            assert code == 0, err
        books.donate("900", donor=books.donor_id)
        maybe_checkpoint(engine, home, 0)
        code, _, err = huiquan(
            capsys, "witness", "cosign", "--home", str(tmp_path / "a"), "--url", service.url
        )
        assert code == 0, err
    log = ensure_signing_key(home).vkey
    with engine.connect() as conn:
        assert verify_witnessed(
            witnessed_checkpoint(conn, 8), [], two_witnesses, 2, log_vkeys=[log]
        )
        nine = witnessed_checkpoint(conn, 9)
    assert verify_witnessed(nine, [], two_witnesses, 1)
    assert not verify_witnessed(nine, [], two_witnesses, 2)  # B has not seen 9 yet
    assert Witness(tmp_path / "a").latest().size == 9


def test_a_witness_shown_a_rewritten_history_refuses_it_and_says_so(
    capsys, engine, books, home, tmp_path, two_witnesses
):
    maybe_checkpoint(engine, home, 0)
    with Service(engine, two_witnesses) as service:
        code, _, _ = huiquan(
            capsys, "witness", "cosign", "--home", str(tmp_path / "a"), "--url", service.url
        )
        assert code == 0
        # Someone with the database and the key rewrites entry 3 and signs size 9 over it.
        rewrite_memo(engine, 3)
        books.donate("900", donor=books.donor_id)
        key = ensure_signing_key(home)
        with engine.begin() as conn:
            root = root_from_leaf_hashes(leaf_hashes(conn, 9))
            conn.execute(
                text(
                    "INSERT INTO checkpoints (size, root, signed_text, created_at) "
                    "VALUES (9, :r, :t, '2026-12-05T00:00:00+00:00')"
                ),
                {"r": root.hex(), "t": key.sign(Checkpoint(DEFAULT_ORIGIN, 9, root))},
            )
        service.honest = False
        code, out, err = huiquan(
            capsys, "witness", "cosign", "--home", str(tmp_path / "a"), "--url", service.url
        )
    assert code == 1 and out == ""
    assert err.startswith("error: split view: checkpoint size 9 root ")
    assert "with checkpoint size 8 root " in err
    assert Witness(tmp_path / "a").latest().size == 8


def test_an_offline_witness_cosigns_from_files(
    capsys, engine, books, home, tmp_path, two_witnesses
):
    first = maybe_checkpoint(engine, home, 0)
    (tmp_path / "8.txt").write_text(first.signed_text)
    code, line, _ = huiquan(
        capsys,
        "witness",
        "cosign",
        "--home",
        str(tmp_path / "b"),
        "--checkpoint-file",
        str(tmp_path / "8.txt"),
    )
    assert code == 0
    books.donate("900", donor=books.donor_id)
    second = maybe_checkpoint(engine, home, 0)
    with engine.connect() as conn:
        (tmp_path / "proof.json").write_text(json.dumps(consistency_between(conn, 8, 9)))
    (tmp_path / "9.txt").write_text(second.signed_text)
    code, line, err = huiquan(
        capsys,
        "witness",
        "cosign",
        "--home",
        str(tmp_path / "b"),
        "--checkpoint-file",
        str(tmp_path / "9.txt"),
        "--proof-file",
        str(tmp_path / "proof.json"),
        "--output",
        str(tmp_path / "cosig.txt"),
    )
    assert code == 0, err
    assert (tmp_path / "cosig.txt").read_text() == line
    assert verify_witnessed(second.signed_text, [line.strip()], [two_witnesses[1]], 1)
