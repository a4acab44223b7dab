"""Mail the dashboard sends, handed to `tds.mail.send` after the answer has gone out."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks

from tds.accounts.mails import Mail
from tds.config import Settings
from tds.mail import MailError, send

log = logging.getLogger("tds.mail")


def deliver(settings: Settings, mail: Mail) -> None:
    """Send one mail; a failure is logged, since the person it was for has had their answer."""
    try:
        send(settings, to=mail.to, subject=mail.subject, text=mail.text)
    except MailError as error:
        log.error("%s", error)


def send_later(background: BackgroundTasks, settings: Settings, mail: Mail | None) -> None:
    """Send `mail` (when there is one) once the answer is out: the answer then takes as long
    whether or not a mail was due, and a slow mail server delays nobody's page."""
    if mail is not None:
        background.add_task(deliver, settings, mail)
