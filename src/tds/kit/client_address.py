"""Who a request comes from, as the per-address rate limits count it.

`ClientAddresses.key(scope)` is the one answer: the peer's address, or, only when the peer is
one of `TDS_TRUSTED_PROXIES`, the client its `X-Forwarded-For` names: the right-most address in
it that is not itself a trusted proxy (each proxy appends the address it saw, so everything left
of the last untrusted hop is whatever the client chose to send). uvicorn applies the same rule
to `scope["client"]` when `tds serve` passes it the same list (`forwarded_allow_ips`); applied
twice it gives the same answer, so the key holds however tds is served.

Addresses are grouped the way one party usually holds them: an IPv4 address is a key of its
own (an IPv4-mapped IPv6 address counts as its IPv4 address), an IPv6 address counts as its
/64 network, since ISPs hand each customer at least a /64 and anyone with one can pick a fresh
address from it for every request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV6_GROUP_PREFIX = 64
UNKNOWN = "unknown"  # no peer address (a Unix socket): all such requests share one key
_MAX_RAW = 64  # a peer that is not an IP address is keyed by (the start of) its text


def parse_address(value: str) -> IPAddress | None:
    """An address as it appears in `X-Forwarded-For` or a peer: bare, `v4:port` or
    `[v6]:port`; None when it is none of those."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return None
        value = value[1:end]
    elif value.count(":") == 1:  # IPv4 with a port (a bare IPv6 address has several colons)
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_key(address: IPAddress) -> str:
    """The rate-limit key of one address: itself for IPv4, its /64 network for IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_GROUP_PREFIX), strict=False)
        return str(network)
    return str(address)


class ClientAddresses:
    """The rate-limit key of a request's client, believing `X-Forwarded-For` only from
    `trusted_proxies` (addresses or networks, as in TDS_TRUSTED_PROXIES)."""

    def __init__(self, trusted_proxies: Iterable[str] = ()) -> None:
        self._hosts: set[IPAddress] = set()
        self._networks: list[IPNetwork] = []
        for entry in trusted_proxies:
            try:
                if "/" in entry:
                    self._networks.append(ipaddress.ip_network(entry.strip(), strict=False))
                else:
                    self._hosts.add(ipaddress.ip_address(entry.strip()))
            except ValueError:
                raise ValueError(
                    f"TDS_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None

    def trusts(self, address: IPAddress) -> bool:
        if address in self._hosts:
            return True
        return any(address in network for network in self._networks)

    def key(self, scope: Mapping[str, Any]) -> str:
        """The key for the request whose ASGI scope this is."""
        client = scope.get("client")
        if not client:
            return UNKNOWN
        peer = parse_address(str(client[0]))
        if peer is None:
            return "peer:" + str(client[0])[:_MAX_RAW]
        if (self._hosts or self._networks) and self.trusts(peer):
            forwarded = _forwarded_for(scope)
            if forwarded:
                return self._forwarded_client(forwarded)
        return address_key(peer)

    def _forwarded_client(self, hops: list[str]) -> str:
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                # Only a trusted proxy wrote this far right: a value it did not write as an
                # address is still that client's (uvicorn takes it as the client too).
                return "peer:" + hop[:_MAX_RAW]
            if not self.trusts(address):
                return address_key(address)
        # Every hop is a trusted proxy: the request began at the left-most one.
        first = parse_address(hops[0])
        return address_key(first) if first is not None else UNKNOWN


def _forwarded_for(scope: Mapping[str, Any]) -> list[str]:
    values = [value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"]
    if not values:
        return []
    hops = [hop.strip() for hop in b",".join(values).decode("latin-1").split(",")]
    return [hop for hop in hops if hop]
