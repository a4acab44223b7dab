"""The suites run on either dispatch path (TDS_TEST_DISPATCH): check which one they got."""

from __future__ import annotations

from tds.dispatch.distributed import CeleryDispatcher
from tds.dispatch.local import LocalDispatcher
from tests.support.servers import LiveServer
from tests.support.workers import TEST_DISPATCH


def test_the_shared_server_runs_renders_where_the_suite_says(server: LiveServer) -> None:
    celery = TEST_DISPATCH == "celery"
    expected = CeleryDispatcher if celery else LocalDispatcher
    assert type(server.runtime.dispatcher) is expected
    assert (server.settings.broker_url is not None) is celery
