"""SSRF guard and image fetcher: every refusal is the same ImageUrlUnfetchable, nothing private is
ever connected to, and hostile origins cannot make a fetch slow or large."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpcore
import pytest

from tds.exceptions import ImageUrlUnfetchable
from tds.fetch.fetcher import ImageFetcher
from tds.fetch.ssrf import BlockedAddress, GuardedNetworkBackend, is_public_address

from .conftest import PNG_BYTES, TRICKLE_INTERVAL, FakeResolver, NetworkGuard, _Server

T = TypeVar("T")
MAX_BYTES = 64 * 1024


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def only_loopback_v4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """The test world's 'public internet': 127.0.0.1 only (the origin server)."""
    return str(ip) == "127.0.0.1"


def allowed_fetcher(
    origin: _Server, resolver: FakeResolver | None = None, **kw: Any
) -> ImageFetcher:
    return ImageFetcher(
        max_bytes=kw.pop("max_bytes", MAX_BYTES),
        resolver=resolver or FakeResolver({"images.test": ["127.0.0.1"]}),
        policy=only_loopback_v4,
        allowed_ports=frozenset({80, 443, origin.port}),
        **kw,
    )


async def fetch_one(fetcher: ImageFetcher, url: str) -> bytes | ImageUrlUnfetchable:
    try:
        return await fetcher.fetch(url)
    except ImageUrlUnfetchable as exc:
        return exc
    finally:
        await fetcher.aclose()


def fetch(fetcher: ImageFetcher, url: str) -> bytes | ImageUrlUnfetchable:
    return run(fetch_one(fetcher, url))


def refused(result: bytes | ImageUrlUnfetchable) -> ImageUrlUnfetchable:
    assert isinstance(result, ImageUrlUnfetchable), f"expected a refusal, got {len(result)} bytes"
    return result


# ---- address policy -------------------------------------------------------------------------

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700::1",
    "2001:4860:4860::8888",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]
BLOCKED = [
    "127.0.0.1",
    "127.1.2.3",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # AWS/GCP/Azure metadata
    "100.64.0.1",
    "100.100.100.200",  # Alibaba Cloud metadata (CGNAT)
    "198.18.0.1",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "224.0.0.1",
    "233.252.0.1",  # global-scope multicast
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::127.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:a9fe:a9fe",
    "::ffff:10.0.0.1",
    "::ffff:0:a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::a00:1",
    "64:ff9b:1::a9fe:a9fe",
    "64:ff9b:1:7f00:1::",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:a00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",
    "fe80::1",
    "fe80::1%1",
    "fec0::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
]


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", BLOCKED)
def test_private_and_special_addresses_are_blocked(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


# ---- guarded backend, no sockets --------------------------------------------------------------


class RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, fail: set[str] | None = None) -> None:
        self.hosts: list[str] = []
        self.fail = fail or set()

    async def connect_tcp(self, host: str, port: int, **kw: Any) -> httpcore.AsyncNetworkStream:
        self.hosts.append(host)
        if host in self.fail:
            raise httpcore.ConnectError("refused")
        return httpcore.AsyncMockStream([])

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def test_backend_connects_to_the_checked_ip_not_the_name() -> None:
    resolver = FakeResolver({"images.test": [["8.8.8.8"], ["127.0.0.1"]]})
    inner = RecordingBackend()
    backend = GuardedNetworkBackend(resolver=resolver, inner=inner)

    async def go() -> None:
        await backend.connect_tcp("images.test", 443)
        with pytest.raises(BlockedAddress):  # the rebinding answer
            await backend.connect_tcp("images.test", 443)

    run(go())
    assert resolver.calls == ["images.test", "images.test"]  # once per connection
    assert inner.hosts == ["8.8.8.8"]


def test_backend_refuses_if_any_address_is_blocked() -> None:
    resolver = FakeResolver({"mixed.test": ["8.8.8.8", "10.0.0.5"], "v6.test": ["::1"]})
    inner = RecordingBackend()
    backend = GuardedNetworkBackend(resolver=resolver, inner=inner)
    for host in ("mixed.test", "v6.test"):
        with pytest.raises(BlockedAddress, match="blocked"):
            run(backend.connect_tcp(host, 80))
    assert inner.hosts == []


def test_backend_ip_literals_skip_the_resolver() -> None:
    resolver = FakeResolver({})
    inner = RecordingBackend()
    backend = GuardedNetworkBackend(resolver=resolver, inner=inner)
    run(backend.connect_tcp("8.8.8.8", 80))
    run(backend.connect_tcp("2606:4700::1", 443))
    for literal in ("127.0.0.1", "::1", "169.254.169.254", "[::ffff:7f00:1]"):
        with pytest.raises(BlockedAddress):
            run(backend.connect_tcp(literal, 80))
    assert resolver.calls == []
    assert inner.hosts == ["8.8.8.8", "2606:4700::1"]


def test_backend_port_and_unix_socket_refused() -> None:
    inner = RecordingBackend()
    backend = GuardedNetworkBackend(resolver=FakeResolver({}), inner=inner)
    with pytest.raises(BlockedAddress, match="port"):
        run(backend.connect_tcp("8.8.8.8", 8080))
    with pytest.raises(BlockedAddress):
        run(backend.connect_unix_socket("/var/run/docker.sock"))
    assert inner.hosts == []


def test_backend_tries_next_checked_address() -> None:
    resolver = FakeResolver({"two.test": ["8.8.8.8", "1.1.1.1"]})
    inner = RecordingBackend(fail={"8.8.8.8"})
    run(GuardedNetworkBackend(resolver=resolver, inner=inner).connect_tcp("two.test", 80))
    assert inner.hosts == ["8.8.8.8", "1.1.1.1"]


def test_backend_resolver_failures_become_connect_errors() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return ["8.8.8.8"]

    async def garbage(host: str, port: int) -> list[str]:
        return ["not-an-ip"]

    inner = RecordingBackend()
    with pytest.raises(httpcore.ConnectTimeout):
        run(GuardedNetworkBackend(resolver=slow, inner=inner).connect_tcp("a.test", 80, 0.05))
    with pytest.raises(httpcore.ConnectError):
        run(GuardedNetworkBackend(resolver=FakeResolver({}), inner=inner).connect_tcp("a.test", 80))
    with pytest.raises(BlockedAddress):
        run(GuardedNetworkBackend(resolver=garbage, inner=inner).connect_tcp("a.test", 80))
    assert inner.hosts == []


# ---- allowed fetches ----------------------------------------------------------------------


def test_ok_fetch(origin: _Server, network_guard: NetworkGuard) -> None:
    assert fetch(allowed_fetcher(origin), f"http://images.test:{origin.port}/ok.png") == PNG_BYTES
    assert network_guard.connects == [("127.0.0.1", origin.port)]


def test_octet_stream_is_accepted(origin: _Server) -> None:
    assert fetch(allowed_fetcher(origin), f"http://images.test:{origin.port}/octet") == PNG_BYTES


def test_three_redirects_are_followed(origin: _Server) -> None:
    resolver = FakeResolver({"images.test": ["127.0.0.1"]})
    url = f"http://images.test:{origin.port}/redirect/3"
    assert fetch(allowed_fetcher(origin, resolver), url) == PNG_BYTES


def test_redirect_body_is_not_read(origin: _Server) -> None:
    start = time.perf_counter()
    url = f"http://images.test:{origin.port}/redirect-endless-body"
    assert fetch(allowed_fetcher(origin), url) == PNG_BYTES
    assert time.perf_counter() - start < 2


def test_env_proxy_is_ignored(
    origin: _Server, canary: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{canary.port}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert fetch(allowed_fetcher(origin), f"http://images.test:{origin.port}/ok.png") == PNG_BYTES
    # canary_never_hit asserts the proxy was not used


def test_no_cookies_are_kept_between_fetches(origin: _Server) -> None:
    async def go() -> None:
        fetcher = allowed_fetcher(origin)
        try:
            assert await fetcher.fetch(f"http://images.test:{origin.port}/cookie") == PNG_BYTES
            assert await fetcher.fetch(f"http://images.test:{origin.port}/ok.png") == PNG_BYTES
        finally:
            await fetcher.aclose()
        assert len(fetcher._client.cookies.jar) == 0

    run(go())
    assert origin.cookie_headers[-2:] == [None, None]


# ---- loopback, numeric, metadata, private ----------------------------------------------------

NUMERIC_HOSTS = {
    "2130706433": ["127.0.0.1"],
    "0x7f000001": ["127.0.0.1"],
    "127.1": ["127.0.0.1"],
    "0": ["0.0.0.0"],
    "localhost": ["127.0.0.1", "::1"],
    "internal.test": ["10.0.0.5"],
    "mixed.test": ["8.8.8.8", "10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{canary}/",
        "http://2130706433:{canary}/",
        "http://0x7f000001:{canary}/",
        "http://127.1:{canary}/",
        "http://0:{canary}/",
        "http://localhost:{canary}/",
        "http://[::1]:{canary}/",
        "http://[::ffff:7f00:1]:{canary}/",
        "http://[::ffff:127.0.0.1]:{canary}/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b::7f00:1]:{canary}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://metadata.test/computeMetadata/v1/",
        "http://nat64.test/",
        "http://10.0.0.1/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fe80::1]/",
        "https://internal.test/",
        "http://mixed.test/",
        "http://nxdomain.test/",
    ],
)
def test_private_targets_are_refused_with_default_policy(
    url: str, canary: _Server, network_guard: NetworkGuard
) -> None:
    resolver = FakeResolver(NUMERIC_HOSTS)  # type: ignore[arg-type]
    fetcher = ImageFetcher(
        max_bytes=MAX_BYTES, resolver=resolver, allowed_ports=frozenset({80, 443, canary.port})
    )
    refused(fetch(fetcher, url.format(canary=canary.port)))
    assert network_guard.connects == []


@pytest.mark.parametrize(
    "host", ["2130706433", "0x7f000001", "127.1", "0", "127.0.0.1", "[::1]", "[::ffff:7f00:1]"]
)
def test_numeric_forms_through_the_system_resolver_are_refused(
    host: str, canary: _Server, network_guard: NetworkGuard, caplog: pytest.LogCaptureFixture
) -> None:
    # The production resolver (getaddrinfo): numeric forms are parsed locally, no DNS query.
    fetcher = ImageFetcher(max_bytes=MAX_BYTES, allowed_ports=frozenset({80, 443, canary.port}))
    with caplog.at_level(logging.INFO, logger="tds.fetch"):
        refused(fetch(fetcher, f"http://{host}:{canary.port}/"))
    assert "blocked" in caplog.text
    assert network_guard.connects == []


def test_mixed_answer_is_refused_even_when_one_address_works(
    origin: _Server, network_guard: NetworkGuard
) -> None:
    resolver = FakeResolver({"mixed.test": ["127.0.0.1", "10.0.0.5"]})
    before = origin.connections
    refused(fetch(allowed_fetcher(origin, resolver), f"http://mixed.test:{origin.port}/ok.png"))
    assert origin.connections == before
    assert network_guard.connects == []


def test_dns_rebinding_gets_one_checked_resolution_per_connection(
    origin: _Server, network_guard: NetworkGuard
) -> None:
    # First answer passes the policy; the "rebound" answer (127.0.0.2, loopback so the socket
    # guard would let it through) does not.
    resolver = FakeResolver({"rebind.test": [["127.0.0.1"], ["127.0.0.2"]]})
    url = f"http://rebind.test:{origin.port}/ok.png"

    async def twice() -> list[bytes | ImageUrlUnfetchable]:
        fetcher = allowed_fetcher(origin, resolver)
        results: list[bytes | ImageUrlUnfetchable] = []
        try:
            for _ in range(2):
                try:
                    results.append(await fetcher.fetch(url))
                except ImageUrlUnfetchable as exc:
                    results.append(exc)
        finally:
            await fetcher.aclose()
        return results

    first, second = run(twice())
    assert first == PNG_BYTES
    refused(second)
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert network_guard.connects == [("127.0.0.1", origin.port)]


# ---- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/to-metadata",
        "/to-metadata-v6",
        "/to-internal",
        "/to-canary-port",
        "/to-canary-ip",
        "/to-file",
        "/to-gopher",
        "/to-userinfo",
        "/redirect/4",
        "/loop",
    ],
)
def test_bad_redirects_are_refused(path: str, origin: _Server, network_guard: NetworkGuard) -> None:
    resolver = FakeResolver({"images.test": ["127.0.0.1"], "internal.test": ["10.0.0.5"]})
    refused(fetch(allowed_fetcher(origin, resolver), f"http://images.test:{origin.port}{path}"))
    assert {c for c in network_guard.connects} <= {("127.0.0.1", origin.port)}
    assert len(network_guard.connects) <= 4  # the first request and at most 3 hops


# ---- bad URLs: refused before any lookup or connect ------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_GET",
        "ftp://images.test/x.png",
        "dict://127.0.0.1:11211/stat",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "//images.test/ok.png",
        "images.test/ok.png",
        "",
        "http://",
        "http:///ok.png",
        "http://[::1",
        "http://0177.0.0.1/",
        "http://evil.test@127.0.0.1/",
        "http://user:pw@images.test/ok.png",
        "http://1.1.1.1 &@2.2.2.2# @3.3.3.3/",
        "http://images.test:8080/ok.png",
        "https://images.test:22/",
        "http://images.test:0/",
        "http://" + "a" * 5000 + ".test/",
        "http://ex\u0430mple.test/\r\nX-Injected: 1",
    ],
)
def test_bad_urls_are_refused_without_connecting(url: str, network_guard: NetworkGuard) -> None:
    resolver = FakeResolver({"images.test": ["127.0.0.1"], "2.2.2.2": ["127.0.0.1"]})
    refused(fetch(ImageFetcher(max_bytes=MAX_BYTES, resolver=resolver), url))
    assert resolver.calls == []
    assert network_guard.connects == []


def test_non_string_url_is_refused() -> None:
    refused(fetch(ImageFetcher(max_bytes=MAX_BYTES, resolver=FakeResolver({})), None))  # type: ignore[arg-type]


# ---- hostile origins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/endless", "/big", "/html", "/no-type", "/gzip", "/empty", "/not-modified", "/404"]
)
def test_hostile_or_wrong_responses_are_refused(path: str, origin: _Server) -> None:
    start = time.perf_counter()
    refused(fetch(allowed_fetcher(origin), f"http://images.test:{origin.port}{path}"))
    assert time.perf_counter() - start < 2


def test_body_over_max_bytes_is_refused(origin: _Server) -> None:
    url = f"http://images.test:{origin.port}/ok.png"
    assert fetch(allowed_fetcher(origin, max_bytes=len(PNG_BYTES)), url) == PNG_BYTES
    refused(fetch(allowed_fetcher(origin, max_bytes=len(PNG_BYTES) - 1), url))


def test_trickle_stops_at_the_overall_deadline(origin: _Server) -> None:
    # Each byte arrives well within the read timeout; only the overall deadline stops it.
    timeout = 1.0
    assert timeout > 3 * TRICKLE_INTERVAL
    start = time.perf_counter()
    refused(
        fetch(allowed_fetcher(origin, timeout=timeout), f"http://images.test:{origin.port}/trickle")
    )
    elapsed = time.perf_counter() - start
    assert timeout * 0.9 < elapsed < timeout + 1.0


def test_tls_failure_is_refused(origin: _Server) -> None:
    # https to a plain-HTTP origin: the handshake fails, and looks like every other failure.
    refused(fetch(allowed_fetcher(origin), f"https://images.test:{origin.port}/ok.png"))


# ---- no error oracle ------------------------------------------------------------------------


def test_every_failure_has_the_same_body(
    origin: _Server, canary: _Server, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = FakeResolver({"images.test": ["127.0.0.1"], "internal.test": ["10.0.0.5"]})
    port = origin.port

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    refused_port = int(sock.getsockname()[1])
    sock.close()  # nothing listens there: connection refused

    cases = [
        (allowed_fetcher(origin, resolver), f"http://internal.test:{port}/"),  # blocked
        (allowed_fetcher(origin, resolver), f"http://nxdomain.test:{port}/"),  # DNS failure
        (allowed_fetcher(origin, resolver), f"http://images.test:{port}/html"),  # wrong type
        (allowed_fetcher(origin, resolver), f"http://images.test:{port}/404"),  # status
        (allowed_fetcher(origin, resolver), f"http://images.test:{port}/loop"),  # redirects
        (allowed_fetcher(origin, resolver), f"http://images.test:{port}/endless"),  # size
        (allowed_fetcher(origin, resolver, timeout=0.5), f"http://images.test:{port}/trickle"),
        (allowed_fetcher(origin, resolver), "gopher://images.test/"),  # scheme
        (allowed_fetcher(origin, resolver), f"http://images.test:{canary.port}/"),  # port
        (
            ImageFetcher(
                max_bytes=MAX_BYTES,
                resolver=resolver,
                policy=only_loopback_v4,
                allowed_ports={refused_port},
            ),
            f"http://images.test:{refused_port}/",  # connection refused
        ),
    ]
    with caplog.at_level(logging.INFO, logger="tds.fetch"):
        errors = [refused(fetch(fetcher, url)) for fetcher, url in cases]
    reference = ImageUrlUnfetchable()
    for exc in errors:
        assert str(exc) == str(reference)
        assert exc.message == reference.message
        assert exc.extra == {"param": "image_url"}
        assert (exc.status, exc.code, exc.headers) == (400, "image_url_unfetchable", {})
        assert exc.__cause__ is None
        assert exc.__context__ is None
    reasons = [r.getMessage() for r in caplog.records if r.name == "tds.fetch"]
    assert len(reasons) == len(cases)
    assert len(set(reasons)) == len(cases)  # the detail is in the log, not the response


def test_log_leaves_out_query_and_userinfo(caplog: pytest.LogCaptureFixture) -> None:
    resolver = FakeResolver({"internal.test": ["10.0.0.5"]})
    with caplog.at_level(logging.INFO, logger="tds.fetch"):
        refused(
            fetch(
                ImageFetcher(max_bytes=MAX_BYTES, resolver=resolver),
                "http://internal.test/img.png?X-Amz-Signature=SECRET123#frag",
            )
        )
        refused(fetch(ImageFetcher(max_bytes=MAX_BYTES), "http://bob:hunter2@internal.test/"))
    assert "internal.test" in caplog.text
    assert "blocked 10.0.0.5" in caplog.text
    for secret in ("SECRET123", "frag", "hunter2", "bob"):
        assert secret not in caplog.text
