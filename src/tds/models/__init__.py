"""ORM tables, one module each. Importing this package registers them all on Base.metadata."""

from tds.models.account import Account
from tds.models.api_key import ApiKey
from tds.models.credit_purchase import CreditPurchase
from tds.models.email_token import EmailToken
from tds.models.hold import Hold
from tds.models.idempotency_key import IdempotencyKey
from tds.models.ledger_entry import LedgerEntry
from tds.models.render import Render, RenderStatus
from tds.models.stripe_event import StripeEvent
from tds.models.team_invitation import TeamInvitation
from tds.models.team_member import TeamMember
from tds.models.upload import Upload
from tds.models.web_session import WebSession

__all__ = [
    "Account",
    "ApiKey",
    "CreditPurchase",
    "EmailToken",
    "Hold",
    "IdempotencyKey",
    "LedgerEntry",
    "Render",
    "RenderStatus",
    "StripeEvent",
    "TeamInvitation",
    "TeamMember",
    "Upload",
    "WebSession",
]
