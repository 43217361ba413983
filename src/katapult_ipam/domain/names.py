"""Host names as the store keeps them, whoever writes or looks them up."""

from __future__ import annotations


def normalise_fqdn(text: str) -> str:
    """``text`` as an FQDN is stored: no surrounding white space, no root dot, lower case.

    ``" Web-1.Example.NET. "`` and ``"web-1.example.net"`` name the same machine.
    """
    return text.strip().rstrip(".").lower()
