"""Schemathesis against /openapi.json on a live server: no 5xx, every status documented, every
answer in its documented shape, and the books balanced afterwards.

All checks run except "schema-valid data is accepted": the schema cannot say that an
`image_base64` string must hold a real image of at least 16 px, so such requests rightly get
`400 invalid_image`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tds.fetch.fetcher import ImageFetcher
from tests.fetch.conftest import FakeResolver
from tests.support.accounts import Account
from tests.support.engines import ResizeEngine
from tests.support.servers import LiveServer, make_settings


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    # Generated image_urls (the schema's example names example.com) resolve through a test
    # resolver that knows no name: the fuzzer never makes a real DNS lookup.
    fetcher = ImageFetcher(max_bytes=1_000_000, timeout=2, resolver=FakeResolver({}))
    with LiveServer(make_settings(data_dir), engine=ResizeEngine(), fetcher=fetcher) as live:
        yield live


@pytest.fixture(scope="module")
def fuzz_account(fuzz_server: LiveServer) -> Account:
    return fuzz_server.account(credits=100_000, plan="studio")


def _operations(server: LiveServer) -> list[schemathesis.APIOperation]:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_every_operation_keeps_its_contract(fuzz_server: LiveServer, fuzz_account: Account) -> None:
    operations = _operations(fuzz_server)
    assert len(operations) >= 9
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            # A query value of None or [] is dropped by the HTTP client, so the "invalid" request
            # it stands for is never sent: schemathesis would then blame the server for
            # accepting it.
            assume(not any(value is None or value == [] for value in (case.query or {}).values()))
            case.call_and_validate(
                headers=fuzz_account.headers, excluded_checks=[positive_data_acceptance]
            )

        try:
            call()
        except Unsatisfiable:
            # The schema allows anything this operation takes (no inputs, or a free-form
            # string like a file key): there is no invalid request to make.
            if mode is not GenerationMode.NEGATIVE:
                raise
        fuzz_server.assert_books_balanced(fuzz_account)
