"""The longest value each bounded field holds, shared by the schema and the input parsers.

A column is declared ``String(LIMIT)`` and whatever accepts the value from outside
(HTTP headers, tokens, inventory files) refuses anything longer with its own error,
so an accepted input always fits: PostgreSQL refuses an over-long value with an
error the API would report as a 500, and SQLite does not check lengths at all.
Lengths count characters (PostgreSQL's ``varchar(n)``, Python's ``len``).
"""

from __future__ import annotations

from typing import Final

# Object ids: "vm_" and 16 characters from the service, or whatever an inventory file gives.
ID_MAX_LENGTH: Final = 32
# A client's X-Request-Id header (printable ASCII), kept in the audit log.
REQUEST_ID_MAX_LENGTH: Final = 128
# Who made an allocation: an API token id, a capabilities token id or an OAuth2 subject.
ACTOR_ID_MAX_LENGTH: Final = 255
# The name of a country, data center, network, organization, VM, interface or API token.
NAME_MAX_LENGTH: Final = 255
PERMALINK_MAX_LENGTH: Final = 255
SUB_DOMAIN_MAX_LENGTH: Final = 255
HOSTNAME_MAX_LENGTH: Final = 255
# A DNS name is at most 253 characters in text form; 255 leaves room for a final dot.
FQDN_MAX_LENGTH: Final = 255
LABEL_MAX_LENGTH: Final = 255
# A subnet's reverse-DNS zone: a DNS name.
ZONE_MAX_LENGTH: Final = 253
TIME_ZONE_MAX_LENGTH: Final = 64
# A VM's description (a TEXT column: the bound is the input's).
DESCRIPTION_MAX_LENGTH: Final = 10_000
# A currency's symbol.
SYMBOL_MAX_LENGTH: Final = 8
# Six hexadecimal pairs and five separators.
MAC_ADDRESS_MAX_LENGTH: Final = 17
# An address, a gateway or a CIDR in text form; the longest valid one is 45 characters.
ADDRESS_MAX_LENGTH: Final = 64
# The largest inventory file read (bytes): a file of a million addresses with ids is
# about 100 MB; this refuses a wrong file before parsing costs memory.
INVENTORY_MAX_BYTES: Final = 256 * 1024 * 1024
