"""Validating inventory files, naming the bad entry."""

from __future__ import annotations

from typing import Any

import pytest

from katapult_ipam.inventory import InventoryError, parse_inventory
from tests.support.world import standard_inventory


def error_for(document: Any) -> str:
    with pytest.raises(InventoryError) as raised:
        parse_inventory(document, source="inv.yaml")
    return str(raised.value)


def test_the_standard_inventory_is_valid() -> None:
    inventory = parse_inventory(standard_inventory())
    assert [o.sub_domain for o in inventory.organizations] == ["acme", "globex"]


def test_a_bad_address_names_its_entry() -> None:
    document = standard_inventory()
    document["organizations"][0]["ip_addresses"][2] = {"address": "192.0.2.300"}
    message = error_for(document)
    assert message.startswith("inv.yaml: organizations[0] (Acme) > ip_addresses[2] (192.0.2.300)")
    assert "not an IP address" in message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda d: d["networks"][0]["subnets"].append({"cidr": "192.0.2.5/24"}), "subnets[2]"),
        (lambda d: d["networks"][0]["subnets"].append({"cidr": "10.0.0.0/8",
                                                        "gateway": "11.0.0.1"}), "outside"),
        (lambda d: d["countries"].append({"name": "X"}), "countries[2] (X)"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["organizations"][0]["api_tokens"].append(
            {"name": "t", "allowed_networks": ["nope"]}), "api_tokens[3] (t)"),
    ],
)  # fmt: skip
def test_invalid_entries(change: Any, fragment: str) -> None:
    document = standard_inventory()
    change(document)
    assert fragment in error_for(document)


def test_the_top_level_must_be_a_mapping() -> None:
    assert "mapping" in error_for(["x"])
