"""The mail an invitation sends."""

from __future__ import annotations

from tds import mail
from tds.config import Settings
from tds.models import TeamInvitation


def send_invitation(
    settings: Settings, base: str, invitation: TeamInvitation, token: str, team: str, inviter: str
) -> None:
    link = f"{base}/team/join?token={token}"
    mail.send(
        settings,
        to=invitation.email,
        subject=f"{inviter} invited you to the team {team} on tds",
        text=(
            f"{inviter} invited you to join the team {team} on tds as {invitation.role}.\n\n"
            f"Members of a team render with its shared credits. To accept, open this link and "
            f"sign in (or sign up) as {invitation.email}:\n\n{link}\n\n"
            f"The link works once and until {invitation.expires_at:%Y-%m-%d %H:%M} UTC. If you "
            "did not expect this, ignore this mail.\n"
        ),
    )
