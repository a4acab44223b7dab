"""image_url through the whole API: every address and spelling that is not a public web host is
refused with one identical 400 image_url_unfetchable, before any credit is held or file stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tds.fetch.fetcher import ImageFetcher
from tds.models import Render
from tests.fetch.conftest import FakeResolver
from tests.support.db import reading
from tests.support.engines import ResizeEngine
from tests.support.servers import LiveServer, make_settings

# Names as production DNS would answer them; the guard forbids real lookups.
RESOLVER_TABLE: dict[str, list[str]] = {
    "internal.test": ["10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "mixed.test": ["93.184.216.34", "10.0.0.5"],  # one bad answer is enough to refuse
    "cgnat.test": ["100.64.1.1"],
    "v6-local.test": ["fd00::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "2130706433": ["127.0.0.1"],  # numeric spellings glibc turns into 127.0.0.1
    "0x7f000001": ["127.0.0.1"],
    "127.1": ["127.0.0.1"],
    "localhost": ["127.0.0.1", "::1"],
}

URLS = [
    "http://127.0.0.1:{canary}/ok.png",
    "http://localhost:{canary}/ok.png",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://127.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.100.100.200/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://internal.test/view.png",
    "http://metadata.test/",
    "http://mixed.test/view.png",
    "http://cgnat.test/",
    "http://v6-local.test/",
    "http://mapped.test/",
    "http://nxdomain.test/view.png",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/_GET",
    "ftp://internal.test/view.png",
    "dict://127.0.0.1:11211/stats",
    "data:image/png;base64,iVBORw0KGgo=",
    "http://user:secret@internal.test/view.png",
    "http://internal.test@127.0.0.1/",
    "http://images.example:8080/view.png",
    "https://images.example:8443/view.png",
    "//127.0.0.1/view.png",
    "http://",
    "not a url at all",
    "http://[::1/",
]


@pytest.fixture(scope="module")
def ssrf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    fetcher = ImageFetcher(max_bytes=1_000_000, timeout=2, resolver=FakeResolver(RESOLVER_TABLE))
    data_dir: Path = tmp_path_factory.mktemp("ssrf")
    with LiveServer(make_settings(data_dir), engine=ResizeEngine(), fetcher=fetcher) as live:
        yield live


def test_every_unsafe_image_url_gets_one_identical_refusal(
    ssrf_server: LiveServer, canary: object
) -> None:
    account = ssrf_server.account(credits=100)
    port = canary.port  # type: ignore[attr-defined]
    bodies: dict[str, str] = {}
    with ssrf_server.client(account) as client:
        for template in URLS:
            url = template.format(canary=port)
            # One pinned request id: the one part of the body that may differ between answers.
            pinned = {"X-Request-Id": "same"}
            answer = client.post("/api/v1/renders", json={"image_url": url}, headers=pinned)
            assert answer.status_code == 400, (url, answer.text)
            assert answer.json()["error"]["code"] == "image_url_unfetchable", (url, answer.text)
            bodies[url] = answer.text
    assert len(set(bodies.values())) == 1  # no oracle: every cause reads the same
    books = ssrf_server.assert_books_balanced(account)
    assert (books.credits, books.credits_held) == (100, 0)
    with reading(ssrf_server.runtime.db) as session:
        assert session.query(Render).filter_by(account_id=account.id).count() == 0
    assert not any((ssrf_server.settings.files_dir / "inputs").iterdir())


def test_overlong_and_non_string_image_urls_are_invalid_requests(ssrf_server: LiveServer) -> None:
    account = ssrf_server.account(credits=100)
    with ssrf_server.client(account) as client:
        for value in ("http://a.example/" + "x" * 2100, 42, ["http://a.example/"], None):
            body = {"image_url": value} if value is not None else {"image_url": None}
            answer = client.post("/api/v1/renders", json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_request"


def test_environment_proxies_are_ignored(
    ssrf_server: LiveServer, canary: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = canary.port  # type: ignore[attr-defined]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    account = ssrf_server.account(credits=100)
    # The test's own client must not take the proxy either; the server's fetcher never does.
    with ssrf_server.client(account, trust_env=False) as client:
        answer = client.post("/api/v1/renders", json={"image_url": "http://nxdomain.test/a.png"})
    assert answer.json()["error"]["code"] == "image_url_unfetchable"
