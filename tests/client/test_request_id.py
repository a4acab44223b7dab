"""The client's errors carry the server's request id, to quote to support."""

from __future__ import annotations

import re

import pytest

from tds.client import Client, InvalidApiKey, NotFound
from tds.client._errors import from_response
from tests.client.helpers import error
from tests.support.servers import LiveServer


def test_errors_from_a_real_server_carry_its_request_id(live: LiveServer) -> None:
    client = Client(live.account().key, base_url=live.url)
    with pytest.raises(NotFound) as missing:
        client.get_render("rnd_doesnotexist")
    assert missing.value.request_id is not None
    assert re.fullmatch(r"req_[0-9a-f]{24}", missing.value.request_id)
    assert missing.value.request_id == missing.value.headers["x-request-id"]
    assert missing.value.body["error"]["request_id"] == missing.value.request_id


def test_the_body_wins_and_the_header_is_the_fallback() -> None:
    both = from_response(
        401, error("invalid_api_key", request_id="req_body"), {"X-Request-Id": "req_header"}
    )
    assert isinstance(both, InvalidApiKey)
    assert both.request_id == "req_body"
    assert from_response(502, {}, {"X-Request-Id": "from-proxy"}).request_id == "from-proxy"
    assert from_response(404, error("not_found")).request_id is None
