"""Outgoing mail: through SMTP when TDS_SMTP_URL is set, else to the log and the data dir."""

from tds.mail.sender import MailError, outbox_note, send

__all__ = ["MailError", "outbox_note", "send"]
