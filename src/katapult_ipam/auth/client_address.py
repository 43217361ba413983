"""The address a request really came from.

It is the socket peer, unless the peer is a trusted proxy: then the
X-Forwarded-For chain is walked from the right, past trusted proxies, and the
first hop that is not one is the client. A header sent by anyone else is
ignored, so it cannot be used to dodge an allowlist or a rate limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from katapult_ipam.domain.addresses import IPAddress, IPNetwork


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self._networks: list[IPNetwork] = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._networks)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str:
        """The client's address, as text (the raw peer when it is not an IP)."""
        if not self._networks:
            return peer or ""  # nobody to believe but the peer
        current = _parse(peer)
        if current is None:
            return peer or ""
        if not forwarded_for or not self.trusts(current):
            return current.compressed
        for hop in reversed(forwarded_for.split(",")):
            if not self.trusts(current):
                break
            parsed = _parse(hop)
            if parsed is None:
                break  # garbage from beyond our proxies: believe no further
            current = parsed
        return current.compressed


def _parse(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def in_networks(address: str, networks: Iterable[IPNetwork]) -> bool:
    """True when ``address`` lies in one of ``networks`` (False if it is no address)."""
    parsed = _parse(address)
    if parsed is None:
        return False
    return any(parsed in network for network in networks)
