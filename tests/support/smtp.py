"""Mail in tests: a real SMTP server on loopback (aiosmtpd) that keeps what tds sends, and the
outbox folder tds writes to when no TDS_SMTP_URL is set."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from tests.support.servers import LiveServer, free_port

WAIT_SECONDS = 30.0  # a mail is sent after the answer: how long to look for it before failing


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    sender: str

    @classmethod
    def parse(cls, raw: bytes) -> Mail:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(("plain",))
        assert body is not None
        return cls(
            to=str(message["To"]),
            subject=str(message["Subject"]),
            text=body.get_content(),
            sender=str(message["From"]),
        )

    def token(self, path: str) -> str:
        """The token of the link to `path` in the mail (e.g. /verify-email)."""
        match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_\-%]+)", self.text)
        assert match, self.text
        return match.group(1)


class _Keep:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.box.received(Mail.parse(envelope.original_content or envelope.content))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (no TLS, no auth): `url` is its TDS_SMTP_URL."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self._changed = threading.Condition()
        self.port = free_port()
        self.controller = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)
        self.url = f"smtp://127.0.0.1:{self.port}"

    def received(self, mail: Mail) -> None:
        with self._changed:
            self.mails.append(mail)
            self._changed.notify_all()

    def mails_to(self, to: str) -> list[Mail]:
        with self._changed:
            return [mail for mail in self.mails if mail.to == to]

    def wait_for(self, to: str, count: int = 1) -> Mail:
        """The `count`-th mail to `to` (waiting for it to arrive)."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self._changed:
            while len(found := [mail for mail in self.mails if mail.to == to]) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"no mail #{count} to {to}; got {self.mails}"
                self._changed.wait(left)
        return found[count - 1]

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def outbox(data_dir: Path) -> list[Mail]:
    """The mail a server without TDS_SMTP_URL kept in its data dir, oldest first."""
    folder = data_dir / "mail"
    if not folder.is_dir():
        return []
    return [Mail.parse(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def wait_in_outbox(data_dir: Path, to: str, count: int = 1) -> Mail:
    """The `count`-th mail to `to` kept in the data dir's outbox (waiting for it)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = [mail for mail in outbox(data_dir) if mail.to == to]
        if len(found) >= count:
            return found[count - 1]
        assert time.monotonic() < deadline, f"no mail #{count} to {to} in {data_dir}/mail"
        time.sleep(0.02)


def follow_confirmation(client: httpx.Client, mail: Mail) -> httpx.Response:
    """Do what the owner of the address does with a confirmation mail: open its link, press
    the page's button. The POST's answer."""
    page = client.get(f"/verify-email?token={mail.token('/verify-email')}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert csrf, page.text
    assert token, page.text
    return client.post("/verify-email", data={"csrf_token": csrf.group(1), "token": token.group(1)})


def confirm_from_outbox(server: LiveServer, email: str) -> None:
    """Confirm a dashboard sign-up on a server without TDS_SMTP_URL, from the mail it kept."""
    mail = wait_in_outbox(server.settings.data_dir, email)
    with httpx.Client(base_url=server.url, headers={"Accept": "text/html"}) as client:
        answer = follow_confirmation(client, mail)
    assert answer.status_code == 303, answer.text
