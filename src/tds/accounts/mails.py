"""The mails accounts send: what they say, built inside the unit of work that issued their
token, sent by the caller after it commits (`tds.mail.send`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


def _link(base: str, path: str, token: str) -> str:
    return f"{base}{path}?token={quote(token, safe='')}"


def verify(base: str, to: str, token: str, credits: int) -> Mail:
    gift = f" and receive the free plan's {credits} credits" if credits else ""
    return Mail(
        to,
        "Confirm your email address for tds",
        f"Someone, hopefully you, signed up for tds at {base} with this address.\n\n"
        f"To confirm it{gift}, open this link and press the button on the page:\n\n"
        f"{_link(base, '/verify-email', token)}\n\n"
        "The link works once, for 3 days. Until the address is confirmed the account cannot log "
        "in.\n\nIf you did not sign up, ignore this mail: do not open the link.\n",
    )


def already_signed_up(base: str, to: str) -> Mail:
    return Mail(
        to,
        "Someone tried to sign up for tds with your address",
        f"Someone, perhaps you, tried to sign up for tds at {base} with this address, which "
        "already has an account. Nothing was changed.\n\n"
        f"If it was you, log in at {base}/login. Forgot the password, or never set one? Reset "
        f"it at {base}/forgot-password.\n\nIf it was not you, you need do nothing.\n",
    )


def reset(base: str, to: str, token: str) -> Mail:
    return Mail(
        to,
        "Reset your tds password",
        f"Someone, hopefully you, asked to reset the password of this address's account at "
        f"{base}.\n\nTo choose a new password, open this link:\n\n"
        f"{_link(base, '/reset-password', token)}\n\n"
        "The link works once, for 1 hour. Setting a new password logs the account out "
        "everywhere.\n\nIf you did not ask, ignore this mail: your password stays as it is.\n",
    )
