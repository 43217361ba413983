"""Validating inventory files, naming the bad entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from katapult_ipam.inventory import InventoryError, parse_inventory, read_inventory
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
            {"name": "t", "allowed_networks": ["nope"]}), "api_tokens[4] (t)"),
    ],
)  # fmt: skip
def test_invalid_entries(change: Any, fragment: str) -> None:
    document = standard_inventory()
    change(document)
    assert fragment in error_for(document)


def test_the_top_level_must_be_a_mapping() -> None:
    assert "mapping" in error_for(["x"])


# -- N10: free text is what it claims to be ---------------------------------------------


def _vm0(d: Any) -> Any:
    return d["organizations"][0]["virtual_machines"][0]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda d: _vm0(d).__setitem__("hostname", "bad host/name\a<>"),
         ["virtual_machines[0] (web-1) > hostname:", "one DNS label", r"'bad host/name\x07<>'"]),
        (lambda d: _vm0(d).__setitem__("hostname", "-web"), ["> hostname:"]),
        (lambda d: _vm0(d).__setitem__("hostname", "a" * 64), ["> hostname:"]),
        (lambda d: _vm0(d)["network_interfaces"][0].__setitem__("name", "eth 0 \u202e"),
         [r"network_interfaces[0] (eth 0 \u202e) > name:", "an interface name is"]),
        (lambda d: _vm0(d)["network_interfaces"][0].__setitem__("name", ""), ["> name:"]),
        (lambda d: d["organizations"][0]["ip_addresses"][3].__setitem__("label", "\u202e\a"),
         ["ip_addresses[3] (192.0.2.13) > label:",
          r"control or formatting character: '\u202e\x07'"]),
        (lambda d: d["organizations"][0]["ip_addresses"][3].__setitem__("label", "a\u2066b"),
         ["> label:"]),
        (lambda d: d["countries"][0].__setitem__("iso_code2", "G\u0130"),
         ["countries[0] (United Kingdom) > iso_code2:", "ASCII letters only"]),
        (lambda d: d["countries"][0].__setitem__("iso_code3", "GB1"), ["> iso_code3:"]),
        (lambda d: d["data_centers"].append(
            {"name": "London", "permalink": "UK-LON-01", "country": "GB"}),
         ["data_centers[2] (London) > permalink:", "lower-case", "'UK-LON-01'"]),
        (lambda d: d["networks"][0].__setitem__("permalink", "uk_lon"), ["networks[0]"]),
        (lambda d: d["organizations"][0].__setitem__("name", "Acme\u202e\n"),
         [r"organizations[0] (Acme\u202e\n) > name:", "control or formatting"]),
        (lambda d: _vm0(d).__setitem__("name", "web\u202e1"), ["virtual_machines[0]", "> name:"]),
    ],
)  # fmt: skip
def test_n10_free_text_is_validated_naming_the_entry(change: Any, fragments: list[str]) -> None:
    document = standard_inventory()
    change(document)
    message = error_for(document)
    assert message.isprintable()  # one line, nothing that reads differently from what it is
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda d: _vm0(d).__setitem__("hostname", "Web-1"),
         lambda i: i.organizations[0].virtual_machines[0].hostname == "Web-1"),
        (lambda d: _vm0(d)["network_interfaces"][0].__setitem__("name", "bond0.100:1_a-b"),
         lambda i: i.organizations[0].virtual_machines[0].network_interfaces[0].name
         == "bond0.100:1_a-b"),
        (lambda d: d["organizations"][0]["ip_addresses"][3].__setitem__("label", "Front end é 🙂"),
         lambda i: i.organizations[0].ip_addresses[3].label == "Front end é 🙂"),
        (lambda d: d["countries"][0].update(iso_code2="gb", iso_code3="gbr"),
         lambda i: (i.countries[0].iso_code2, i.countries[0].iso_code3) == ("GB", "GBR")),
    ],
)  # fmt: skip
def test_n10_good_values_pass(change: Any, check: Any) -> None:
    document = standard_inventory()
    change(document)
    assert check(parse_inventory(document))


def test_n10_the_demo_inventory_is_valid(repo_root: Path) -> None:
    inventory = read_inventory(repo_root / "examples" / "demo-inventory.yaml")
    assert inventory.organizations
