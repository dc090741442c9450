"""SMTP transport security and login against aiosmtpd on loopback: STARTTLS with AUTH, implicit
TLS, a certificate the client does not trust, and a wrong password: each either delivers or
fails with its reason (retried), never silently."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from delivery.mail import SendFailed, SmtpSettings, compose, send
from tests.delivery.conftest import Inbox, free_port

USER, PASSWORD = "huiquan", "s3cret-pass"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA file): (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)  # a failure answers 535


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def starttls_server(certificate) -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def tls_server(certificate) -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_context(certificate),
        authenticator=_authenticator,
        auth_required=True,
        # aiosmtpd counts only STARTTLS as TLS; here the whole connection is TLS already
        auth_require_tls=False,
    )
    controller.start()
    yield port, inbox
    controller.stop()


def _message(settings: SmtpSettings):
    return compose(
        settings,
        message_id="msg_tls",
        to="donor@example.com",
        subject="收据 · Receipt",
        text="感谢您的捐赠。\nThank you.",
        attachment=("HQ-2026-000001.pdf", b"%PDF-1.7 test"),
    )


def test_starttls_with_a_login_delivers(starttls_server, certificate) -> None:
    port, inbox = starttls_server
    settings = SmtpSettings(
        "127.0.0.1",
        port,
        "starttls",
        "receipts@huiquan.example",
        USER,
        PASSWORD,
        ca_file=str(certificate[0]),
        timeout=10,
    )
    send(settings, _message(settings))
    [(_sender, recipients, raw)] = inbox.messages
    assert recipients == ["donor@example.com"] and b"msg_tls@huiquan.example" in raw


# aiosmtpd warns (per connection, in its own thread) that AUTH does not require STARTTLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_a_login_delivers(tls_server, certificate) -> None:
    port, inbox = tls_server
    settings = SmtpSettings(
        "127.0.0.1",
        port,
        "tls",
        "receipts@huiquan.example",
        USER,
        PASSWORD,
        ca_file=str(certificate[0]),
        timeout=10,
    )
    send(settings, _message(settings))
    assert len(inbox.messages) == 1


def _settings(port: int, **changes) -> SmtpSettings:
    base = dict(
        host="127.0.0.1",
        port=port,
        security="starttls",
        sender="receipts@huiquan.example",
        username=USER,
        password=PASSWORD,
        timeout=10,
    )
    return SmtpSettings(**{**base, **changes})


def test_a_certificate_the_client_does_not_trust_fails_and_is_retried(starttls_server) -> None:
    port, inbox = starttls_server
    untrusted = _settings(port)  # the system's CAs do not know the self-signed certificate
    with pytest.raises(SendFailed, match="CERTIFICATE_VERIFY_FAILED") as failed:
        send(untrusted, _message(untrusted))
    assert not failed.value.permanent and inbox.messages == []


def test_a_wrong_password_fails_with_the_servers_answer(starttls_server, certificate) -> None:
    port, inbox = starttls_server
    wrong = _settings(port, password="nope", ca_file=str(certificate[0]))
    with pytest.raises(SendFailed, match="535") as failed:
        send(wrong, _message(wrong))
    assert not failed.value.permanent and inbox.messages == []


def test_no_tls_where_the_server_insists_on_it_fails(starttls_server) -> None:
    port, inbox = starttls_server
    plain = _settings(port, security="none")
    with pytest.raises(SendFailed, match="AUTH"):  # not offered before STARTTLS
        send(plain, _message(plain))
    assert inbox.messages == []


def test_settings_are_read_from_the_environment_and_bad_ones_refused() -> None:
    from delivery.mail import smtp_settings

    assert smtp_settings({}) is None
    read = smtp_settings(
        {
            "HUIQUAN_SMTP_HOST": "smtp.example.org",
            "HUIQUAN_SMTP_FROM": "r@example.org",
            "HUIQUAN_SMTP_USERNAME": "u",
            "HUIQUAN_SMTP_PASSWORD": "p",
        }
    )
    assert read is not None and (read.port, read.security) == (587, "starttls")
    assert (
        smtp_settings(
            {"HUIQUAN_SMTP_HOST": "h", "HUIQUAN_SMTP_FROM": "r@x", "HUIQUAN_SMTP_SECURITY": "tls"}
        ).port
        == 465
    )
    for bad in (
        {"HUIQUAN_SMTP_HOST": "h"},
        {"HUIQUAN_SMTP_HOST": "h", "HUIQUAN_SMTP_FROM": "r@x", "HUIQUAN_SMTP_SECURITY": "ssl3"},
        {"HUIQUAN_SMTP_HOST": "h", "HUIQUAN_SMTP_FROM": "r@x", "HUIQUAN_SMTP_PORT": "x"},
    ):
        with pytest.raises(ValueError):
            smtp_settings(bad)
