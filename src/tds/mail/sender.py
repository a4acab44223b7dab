"""`send(settings, to=…, subject=…, text=…)`: one plain-text mail, sent or kept.

stdlib smtplib, not an async client: a mail is one short exchange, callers run it off the event
loop (a thread, or a background task after the answer), and smtplib speaks STARTTLS, implicit
TLS and AUTH without another dependency.

Without TDS_SMTP_URL (the embedded default) nothing is sent: the whole message goes to the log
and to `<data dir>/mail/<time>-<id>.eml`, so a person running tds on their own machine can still
follow a confirmation or reset link.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tds.config import Settings
from tds.kit.ids import new_id

log = logging.getLogger("tds.mail")

TIMEOUT_SECONDS = 30.0
DEFAULT_PORTS = {"smtp": 587, "smtps": 465}  # mail submission (RFC 6409), implicit TLS (RFC 8314)


class MailError(Exception):
    """The mail could not be handed to the mail server (refused, unreachable, misconfigured)."""


def send(settings: Settings, *, to: str, subject: str, text: str) -> None:
    """Send one plain-text mail to `to` from TDS_MAIL_FROM; MailError when it cannot be sent."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    if settings.smtp_url:
        message.set_content(text)
        _submit(settings.smtp_url, message)
    else:
        # 8bit: a person reads this file and the log, and copies the link out of them whole
        # (quoted-printable would break it over lines and turn its "=" into "=3D").
        message.set_content(text, cte="8bit")
        _keep(settings.mail_dir, message)


def outbox_note(settings: Settings) -> str | None:
    """What the dashboard says where it asks someone to check their mail, when no mail server is
    configured (None when there is one)."""
    if settings.smtp_url:
        return None
    return (
        "This server has no mail server configured (TDS_SMTP_URL), so nothing was sent: the "
        f"message is in the server's log and in {settings.mail_dir}/."
    )


def _keep(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{new_id('mail')}.eml"
    partial = path.with_suffix(".partial")
    # 0600 from the start: the message may hold a password-reset link. Renamed into place
    # whole, so a reader never sees half a message.
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(message.as_bytes())
    partial.replace(path)
    log.info("no TDS_SMTP_URL: mail to %s kept in %s, not sent:\n%s", message["To"], path, message)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _submit(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise MailError("TDS_SMTP_URL must look like smtp://user:password@host:587 or smtps://…")
    host = parts.hostname
    port = parts.port or DEFAULT_PORTS[scheme]
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else ""
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if scheme == "smtps":
            client = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        with client:
            client.ehlo()
            secure = scheme == "smtps"
            if not secure and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                secure = True
            if user is not None:
                # A password in the clear only to a server on this machine.
                if not secure and not _is_loopback(host):
                    raise MailError(
                        f"The mail server {host}:{port} offers no STARTTLS: tds will not send "
                        "its password in the clear. Use smtps:// or a server with TLS."
                    )
                client.login(user, password)
            client.send_message(message)
    except MailError:
        raise
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(f"Mail to {message['To']} via {host}:{port} failed: {error}") from error
