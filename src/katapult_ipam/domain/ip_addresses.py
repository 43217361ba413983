"""What an IP address's owner may change, and when it may be unallocated: pure rules.

Production's recorded behaviour (lifecycle-facts §2): only a VIP has a label, a
VIP must have one (``Label can't be blank``), and turning ``vip`` off drops the
label. A reverse DNS name set through the API holds until the allocation changes:
allocating answers with the VM's FQDN, unallocating and releasing with the
address's default name (*decision*: production never recorded it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from katapult_ipam.domain.allocation import VIRTUAL_MACHINE, IPAddress
from katapult_ipam.domain.errors import NoAllocation, UnallocationNotSupported, ValidationFailed
from katapult_ipam.limits import FQDN_MAX_LENGTH, LABEL_MAX_LENGTH

LABEL_BLANK = "Label can't be blank"
LABEL_TOO_LONG = f"Label is too long (maximum is {LABEL_MAX_LENGTH} characters)"
LABEL_INVALID = "Label contains control characters"
REVERSE_DNS_INVALID = "Reverse DNS is not a valid host name"

# Resources whose addresses the API may unallocate (a load balancer's may not).
UNALLOCATABLE_FROM = frozenset({VIRTUAL_MACHINE})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class AddressVersion(StrEnum):
    """The ``version`` and ``address_version`` enums of the API."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @property
    def number(self) -> int:
        """4 or 6, as the store keeps it."""
        return 4 if self is AddressVersion.IPV4 else 6


@dataclass(frozen=True)
class Details:
    """What an owner may set on an address."""

    vip: bool = False
    label: str | None = None
    reverse_dns: str | None = None  # None: the VM's FQDN or the default name


# Absent from a request: keep what is stored (a PATCH sends only what changed).
KEEP = object()


def new_details(vip: bool | None, label: str | None) -> Details:
    """The details of a newly created address, or ValidationFailed."""
    return _checked(Details(vip=bool(vip), label=label))


def changed_details(current: Details, vip: object = KEEP, label: object = KEEP,
                    reverse_dns: object = KEEP) -> Details:  # fmt: skip
    """``current`` with what a PATCH gave (``KEEP`` where it gave nothing), or ValidationFailed.

    A null or empty ``label`` removes it; a null or empty ``reverse_dns`` goes back to
    the default name.
    """
    new_vip = current.vip if vip is KEEP or vip is None else bool(vip)
    new_label = current.label if label is KEEP else _text(label)
    new_rdns = current.reverse_dns if reverse_dns is KEEP else _reverse_dns(_text(reverse_dns))
    return _checked(Details(vip=new_vip, label=new_label, reverse_dns=new_rdns))


def _text(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"text expected, not {type(value).__name__}")
    return value


def _checked(details: Details) -> Details:
    """Apply the label rules; the first failed one refuses."""
    label = details.label
    if not details.vip:
        return Details(vip=False, label=None, reverse_dns=details.reverse_dns)
    if label is None or not label.strip():
        raise ValidationFailed(LABEL_BLANK)
    if len(label) > LABEL_MAX_LENGTH:
        raise ValidationFailed(LABEL_TOO_LONG)
    if _CONTROL.search(label):
        raise ValidationFailed(LABEL_INVALID)
    return details


def _reverse_dns(value: str | None) -> str | None:
    """A host name as stored (lower case, no root dot), None for the default, or refused."""
    if value is None or value == "":
        return None
    name = value.lower().removesuffix(".")
    labels = name.split(".")
    if (
        len(name) > min(FQDN_MAX_LENGTH, 253)
        or len(labels) < 2
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
    ):
        raise ValidationFailed(REVERSE_DNS_INVALID)
    return name


def ensure_can_unallocate(ip: IPAddress) -> None:
    """An allocated address whose holder lets the API unallocate it; else why not."""
    if ip.allocation_id is None:
        raise NoAllocation(ip.id)
    if ip.allocation_type not in UNALLOCATABLE_FROM:
        raise UnallocationNotSupported(ip.id)
