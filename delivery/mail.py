"""Email through SMTP: the settings, the message, and what an SMTP answer means for a retry.

Invariants owned here:
- Settings come from the operator (`HUIQUAN_SMTP_*`, docs/configuration.md); the password is
  never logged nor stored in the books. `security` is `starttls` (the default: upgrade a plain
  connection, refuse to go on without TLS), `tls` (implicit TLS, port 465) or `none` (only for
  a relay on the same host). TLS certificates are checked against the system's CAs, or
  `ca_file`'s.
- A send either hands the message to the server or raises `SendFailed`; `SendFailed.permanent`
  is true only when the server refused every recipient with a 5xx (a bounce: retrying will not
  help). Anything else (a connection, TLS or authentication failure, a 4xx) is retried.
- A message's `Message-ID` is derived from the outbox id, so a receiving system can see that
  two copies (an at-least-once retry) are one message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

__all__ = ["SECURITY", "SendFailed", "SmtpSettings", "compose", "send", "smtp_settings"]

SECURITY = ("starttls", "tls", "none")


class SendFailed(Exception):
    """Raised when the SMTP server did not take the message; `permanent` for a bounce."""

    def __init__(self, detail: str, *, permanent: bool = False) -> None:
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how email leaves: host, port, transport security, login, sender."""

    host: str
    port: int
    security: str
    sender: str
    username: str = ""
    password: str = ""
    ca_file: str = ""
    timeout: float = 30.0


def smtp_settings(env: Mapping[str, str]) -> SmtpSettings | None:
    """Read `HUIQUAN_SMTP_*` from `env`; None when no host is set (email stays queued).

    Raises:
        ValueError: a port or timeout that is not a number, an unknown security mode, or a
            host without a sender address.
    """
    host = env.get("HUIQUAN_SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("HUIQUAN_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if security not in SECURITY:
        raise ValueError(f"HUIQUAN_SMTP_SECURITY must be one of {', '.join(SECURITY)}")
    sender = env.get("HUIQUAN_SMTP_FROM", "").strip()
    if "@" not in sender:
        raise ValueError("HUIQUAN_SMTP_FROM must be the sender's address")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    try:
        port = int(env.get("HUIQUAN_SMTP_PORT") or default_port)
        timeout = float(env.get("HUIQUAN_SMTP_TIMEOUT") or 30)
    except ValueError as err:
        raise ValueError("HUIQUAN_SMTP_PORT and HUIQUAN_SMTP_TIMEOUT must be numbers") from err
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        sender=sender,
        username=env.get("HUIQUAN_SMTP_USERNAME", ""),
        password=env.get("HUIQUAN_SMTP_PASSWORD", ""),
        ca_file=env.get("HUIQUAN_SMTP_CA_FILE", ""),
        timeout=timeout,
    )


def compose(
    settings: SmtpSettings,
    *,
    message_id: str,
    to: str,
    subject: str,
    text: str,
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """A plain-text UTF-8 message with an optional PDF attachment (file name, bytes)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = settings.sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{message_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8")
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message


def _context(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.ca_file or None)


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server.

    Raises:
        SendFailed: the server did not take it (`permanent` when it refused the recipients
            with a 5xx).
    """
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=_context(settings)
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=_context(settings))
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as err:
        codes = [code for code, _ in err.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        raise SendFailed(_recipients(err.recipients), permanent=permanent) from err
    except smtplib.SMTPNotSupportedError as err:
        raise SendFailed(f"the server does not offer what the settings ask: {err}") from err
    except smtplib.SMTPResponseException as err:
        reply = err.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        raise SendFailed(f"SMTP {err.smtp_code} {text}".strip()) from err
    except (smtplib.SMTPException, OSError) as err:
        raise SendFailed(f"{type(err).__name__}: {err}") from err


def _recipients(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{address}: {code} {reply.decode('utf-8', 'replace')}"
        for address, (code, reply) in refused.items()
    )
