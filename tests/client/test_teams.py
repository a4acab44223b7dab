"""tds.client in a team: me() names the person, the team and the cap; past the cap the
client raises MonthlyCapReached (an InsufficientCredits) with what is left."""

from __future__ import annotations

import pytest

from tds.client import Client, InsufficientCredits, MonthlyCapReached
from tests.support.images import png_bytes
from tests.support.servers import LiveServer
from tests.support.teams import join


def test_me_and_the_cap_from_the_sdk(live: LiveServer) -> None:
    owner = live.account(credits=100)
    member = join(live, owner, cap=7)
    client = Client(member.key, base_url=live.url)
    me = client.me()
    assert (me.id, me.email, me.credits) == (member.id, member.email, 100)
    assert me.team is not None
    assert (me.team.id, me.team.role) == (owner.id, "member")
    assert me.monthly_cap is not None
    assert (me.monthly_cap.limit, me.monthly_cap.left) == (7, 7)
    client.render(png_bytes(), resolution="1k")  # 5 credits
    with pytest.raises(MonthlyCapReached) as refused:
        client.render(png_bytes(), resolution="1k")
    assert isinstance(refused.value, InsufficientCredits)
    assert (refused.value.cap, refused.value.cap_left) == (7, 2)
    alone = Client(owner.key, base_url=live.url).me()
    assert alone.team is not None
    assert (alone.team.id, alone.team.role, alone.monthly_cap) == (owner.id, "owner", None)
