"""The address a request really came from.

It is the socket peer, unless the peer is a trusted proxy. Then the one
forwarding header the operator named (``X-Forwarded-For`` by default, or RFC
7239 ``Forwarded``) is read as a single list, every line of it in order (RFC
9110 §5.3), and walked from the right: each hop a trusted proxy wrote is
believed, and the first hop that is not itself a trusted proxy is the client.

A hop that cannot be read (``unknown``, an obfuscated name, garbage) fails
closed: the client is ``UNKNOWN_CLIENT``, which lies in no allowlist and shares
one anonymous rate limit bucket, so an odd proxy never makes every client look
like the proxy. Hops may carry a port (``192.0.2.1:5555``, ``[2001:db8::1]:443``)
and IPv4-mapped IPv6 addresses are read as the IPv4 address they carry.

Only the configured header is read: a proxy that appends ``X-Forwarded-For``
passes a client's own ``Forwarded`` header through untouched, so believing both
would let any client choose its address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from katapult_ipam.config import ForwardingHeader
from katapult_ipam.domain.addresses import IPAddress, IPNetwork

# The client address when a trusted proxy could not say who the client was.
UNKNOWN_CLIENT = "unknown"

# Anonymous IPv6 clients are counted per /64: one host usually holds a whole /64.
IPV6_RATE_LIMIT_PREFIX = 64

_HOST_PORT = re.compile(r"^(?P<host>[^:\[\]]+):(?P<port>\d{1,5})$")
_BRACKETED = re.compile(r"^\[(?P<host>[^\[\]]+)\](?::(?P<port>\d{1,5}))?$")
_FORWARDED_PAIR = re.compile(
    r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,"\s]*)\s*'
)


class TrustedProxies:
    """Which peers may say who the client is, and in which header."""

    def __init__(
        self, networks: Iterable[str], header: ForwardingHeader = "x-forwarded-for"
    ) -> None:
        self._networks: list[IPNetwork] = [ipaddress.ip_network(n, strict=False) for n in networks]
        self.header: ForwardingHeader = header

    def trusts(self, address: IPAddress) -> bool:
        return any(address in network for network in self._networks)

    def client_address(self, peer: str | None, header_lines: Sequence[str]) -> str:
        """The client's address as text: compressed, the raw peer if it is no IP,
        or ``UNKNOWN_CLIENT`` when a trusted proxy's hop cannot be read."""
        current = parse_address(peer)
        if current is None:
            return peer or ""
        if not self._networks or not header_lines or not self.trusts(current):
            return current.compressed
        hops = _hops(self.header, header_lines)
        while hops and self.trusts(current):
            hop = hops.pop()
            if hop is None:
                return UNKNOWN_CLIENT  # a trusted proxy did not know: fail closed
            current = hop
        return current.compressed


def _hops(header: ForwardingHeader, lines: Sequence[str]) -> list[IPAddress | None]:
    """Every hop of every line, left to right (None where a hop cannot be read)."""
    if header == "forwarded":
        return [_forwarded_for(element) for line in lines for element in _split_elements(line)]
    return [parse_node(hop) for line in lines for hop in line.split(",") if hop.strip()]


def parse_node(text: str) -> IPAddress | None:
    """A hop as proxies write it: ``ip``, ``ip:port``, ``[v6]`` or ``[v6]:port``."""
    text = text.strip()
    bracketed = _BRACKETED.match(text)
    if bracketed:
        # Only IPv6 is written in brackets ("[192.0.2.1]" is no address).
        return parse_address(bracketed["host"]) if ":" in bracketed["host"] else None
    with_port = _HOST_PORT.match(text)
    if with_port:  # the host has no colon: IPv4 (or garbage) with a port
        return parse_address(with_port["host"])
    return parse_address(text)


def _split_elements(line: str) -> list[str]:
    """A ``Forwarded`` line split at the commas that are outside quoted strings."""
    elements: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            elements.append("".join(current))
            current = []
            continue
        current.append(char)
    elements.append("".join(current))
    return [element for element in elements if element.strip()]


def _forwarded_for(element: str) -> IPAddress | None:
    """The ``for=`` node of one ``Forwarded`` element (RFC 7239 §4, §6)."""
    node: str | None = None
    for pair in element.split(";"):
        match = _FORWARDED_PAIR.fullmatch(pair)
        if match is None:
            return None
        name, value = match[1].lower(), match[2]
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if name == "for":
            if node is not None:
                return None  # two "for" parameters in one element
            node = value
    return parse_node(node) if node else None


def parse_address(text: str | None) -> IPAddress | None:
    """An IP address, IPv4-mapped IPv6 read as IPv4; None if ``text`` is none."""
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: str, networks: Iterable[IPNetwork]) -> bool:
    """True when ``address`` lies in one of ``networks`` (False if it is no address)."""
    parsed = parse_address(address)
    if parsed is None:
        return False
    return any(parsed in network for network in networks)


def rate_limit_key(address: str) -> str:
    """The anonymous rate limit bucket of a client address: the address, or its /64."""
    parsed = parse_address(address)
    if parsed is None:
        return address
    if parsed.version == 6:
        network = ipaddress.ip_network(f"{parsed}/{IPV6_RATE_LIMIT_PREFIX}", strict=False)
        return network.compressed
    return parsed.compressed
