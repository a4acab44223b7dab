"""SSRF guard: which addresses a server-side fetch may reach, enforced at connect time.

Checking a URL and then letting the HTTP client resolve its host again leaves a gap that DNS
rebinding, redirects and numeric host forms (`2130706433`, `0x7f000001`, `127.1`) slip through.
`GuardedNetworkBackend` closes it inside httpcore: every new TCP connection (the first request
and every redirect hop) resolves the host exactly once, refuses if *any* returned address fails
the policy or the port is not allowed, and then connects to the checked IP literal. TLS is left
to httpcore, which still calls `start_tls` with the original hostname, so SNI and certificate
verification are unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import typing
from collections.abc import Awaitable, Callable, Iterable

import anyio
import httpcore

log = logging.getLogger("tds.fetch")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
AddressPolicy = Callable[[IPAddress], bool]

DEFAULT_PORTS: typing.Final = frozenset({80, 443})

# Not reachable on the public internet, yet not all excluded by `is_global` on every Python.
_BLOCKED_V4: typing.Final = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
        "100.64.0.0/10",  # CGNAT, incl. Alibaba Cloud metadata 100.100.100.200
        "198.18.0.0/15",  # benchmarking
        "192.0.0.0/24",  # IETF protocol assignments
        "240.0.0.0/4",  # reserved, incl. broadcast
    )
)
_BLOCKED_V6: typing.Final = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # IPv4-compatible (deprecated), incl. :: and ::1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215): never public; prefix length unknown
        "fec0::/10",  # site-local (deprecated), `is_global` is True for it
    )
)
_NAT64_WELL_KNOWN: typing.Final = ipaddress.IPv6Network("64:ff9b::/96")


def _v4_ok(ip: ipaddress.IPv4Address) -> bool:
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _BLOCKED_V4)


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    if ip in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(ip: IPAddress) -> bool:
    """True only for unicast addresses on the public internet (the default `AddressPolicy`).

    IPv6 addresses that carry an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) pass only if
    the embedded IPv4 address passes too: `64:ff9b::7f00:1` is loopback in disguise.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_ok(ip)
    if not isinstance(ip, ipaddress.IPv6Address):
        return False
    if ip.scope_id:
        return False
    if not ip.is_global or ip.is_multicast or any(ip in net for net in _BLOCKED_V6):
        # `is_global` is False for ::ffff:0:0/96; the embedded check below still matters for
        # Pythons where it is True.
        return False
    return all(_v4_ok(v4) for v4 in _embedded_v4(ip))


def parse_ip(host: str) -> IPAddress | None:
    """`host` as an IP address if it is a literal (brackets allowed), else None."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver (getaddrinfo in the loop's executor), TCP only."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class BlockedAddress(httpcore.ConnectError):
    """Raised by the guard instead of connecting; httpx reports it as `httpx.ConnectError`."""


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only opens TCP connections to checked addresses."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        policy: AddressPolicy | None = None,
        allowed_ports: Iterable[int] = DEFAULT_PORTS,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._resolver: Resolver = resolver or system_resolver
        self._policy: AddressPolicy = policy or is_public_address
        self._allowed_ports = frozenset(allowed_ports)
        self._inner: httpcore.AsyncNetworkBackend = inner or httpcore.AnyIOBackend()

    async def resolve_checked(
        self, host: str, port: int, timeout: float | None = None
    ) -> list[IPAddress]:
        """The addresses `host` may be reached at; raises if the port or any address is refused."""
        if port not in self._allowed_ports:
            raise BlockedAddress(f"port {port} is not allowed")
        literal = parse_ip(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            try:
                with anyio.fail_after(timeout):
                    answers = await self._resolver(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from None
            except (OSError, UnicodeError, ValueError) as exc:
                raise httpcore.ConnectError(f"resolving {host!r} failed: {exc}") from None
            addresses = []
            for answer in answers:
                ip = parse_ip(str(answer))
                if ip is None:
                    raise BlockedAddress(f"resolver returned a non-address {answer!r} for {host!r}")
                addresses.append(ip)
            if not addresses:
                raise httpcore.ConnectError(f"{host!r} has no addresses")
        refused = [str(ip) for ip in addresses if not self._policy(ip)]
        if refused:
            raise BlockedAddress(f"{host!r} is or resolves to blocked {', '.join(refused)}")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.resolve_checked(host, port, timeout)
        last_error: Exception | None = None
        for ip in addresses:  # every one was checked; try them in the resolver's order
            try:
                return await self._inner.connect_tcp(
                    ip.compressed,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
