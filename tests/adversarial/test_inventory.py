"""Inventory files that once got through the loader, or crashed it (S4, S5, W1-W3, W7, C1, C3,
C5, K3), and the refusals that held (probe 42). Every refusal names the entry and loads nothing.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient
from typer.testing import CliRunner

from katapult_ipam.cli import app
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.inventory import (
    InventoryError,
    _NoAliasLoader,
    parse_inventory,
    read_inventory,
)
from katapult_ipam.store import admin
from katapult_ipam.store import models as m
from katapult_ipam.store.loader import _Loader, load_inventory
from katapult_ipam.store.queries.ip_addresses import allocate_if_free, resolve_ip_address
from katapult_ipam.store.queries.organizations import organization_ids
from tests.support.api import allocate
from tests.support.factories import (
    LONDON_PUBLIC,
    Ids,
    inventory,
    ip,
    load,
    network,
    organization,
    vm,
)
from tests.support.world import World, standard_inventory

ACME_VM = "vm_acme000000000001"
GLOBEX_VM = "vm_glbx000000000001"
GLOBEX_IP = "ip_glbx000000000001"
GLOBEX_NIC = "vmnet_glbx00000000001"
OTHER = "uk-lon-01-other"


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused file changed nothing."""
    with engine.connect() as c:
        return {
            name: sorted(tuple(map(str, row)) for row in c.execute(select(table)))
            for name, table in m.Base.metadata.tables.items()
        }


def refused(engine: Engine, document: dict[str, Any], *messages: str) -> str:
    """Load ``document``: it must be refused with every one of ``messages``, loading nothing."""
    before = dump(engine)
    with pytest.raises(InventoryError) as caught:
        load_inventory(engine, parse_inventory(document))
    text = str(caught.value)
    assert "\n" not in text
    for message in messages:
        assert message in text
    assert dump(engine) == before
    return text


def two_organizations() -> dict[str, Any]:
    """acme with web-1 (192.0.2.10 allocated); globex with explicit ids and 192.0.2.20 allocated."""
    return inventory(
        organization(
            "acme",
            vms=[vm("web-1", id=ACME_VM)],
            ips=[ip("192.0.2.10", allocated_to="web-1"), ip("192.0.2.11")],
        ),
        organization(
            "globex",
            vms=[
                vm(
                    "app-1",
                    id=GLOBEX_VM,
                    network_interfaces=[{"id": GLOBEX_NIC, "network": LONDON_PUBLIC}],
                )
            ],
            ips=[ip("192.0.2.20", id=GLOBEX_IP, allocated_to="app-1")],
        ),
        networks=[network(LONDON_PUBLIC), network(OTHER, "203.0.113.0/24", default=False)],
    )


def acme_file(**fields: Any) -> dict[str, Any]:
    """acme's file alone (as another team would keep it), with changed fields."""
    document = two_organizations()
    document["organizations"] = [document["organizations"][0]]
    document["organizations"][0].update(fields)
    return document


# -- S4: ids are matched within the organization ----------------------------------------


def test_s4_a_vm_id_of_another_organization_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["virtual_machines"].append(vm("stolen", id=GLOBEX_VM))
    refused(
        engine,
        document,
        "organizations[0] (acme) > virtual_machines[1] (stolen)",
        f"{GLOBEX_VM} already exists in another organization",
    )


def test_s4_an_ip_id_of_another_organization_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["ip_addresses"].append(ip("192.0.2.21", id=GLOBEX_IP))
    refused(
        engine,
        document,
        "organizations[0] (acme) > ip_addresses[2] (192.0.2.21)",
        f"{GLOBEX_IP} already exists in another organization",
    )


def test_s4_an_interface_id_of_another_organization_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["virtual_machines"][0]["network_interfaces"].append(
        {"id": GLOBEX_NIC, "name": "eth9", "network": LONDON_PUBLIC}
    )
    refused(
        engine,
        document,
        "virtual_machines[0] (web-1) > network_interfaces[1] (eth9)",
        f"{GLOBEX_NIC} already exists in another organization",
    )


def test_probe_42_an_address_another_organization_owns_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["ip_addresses"].append(ip("192.0.2.20"))
    refused(engine, document, "ip_addresses[2] (192.0.2.20)", "belongs to another organization")


# -- S5: sub-domains are DNS labels; references are ids or sub-domains, never both -----


@pytest.mark.parametrize(
    "sub_domain", ["org_acme000000000001", "Acme", "ac_me", "-acme", "acme-", "a" * 64, "a.b", ""]
)
def test_s5_a_sub_domain_that_is_not_a_dns_label_is_refused(
    engine: Engine, sub_domain: str
) -> None:
    refused(engine, inventory(organization(sub_domain)), "organizations[0]", "sub_domain")


def test_s5_an_id_shaped_reference_names_only_the_organization_with_that_id(
    engine: Engine,
) -> None:
    ids = load(engine, inventory(organization("acme"), organization("mallory")))
    acme = ids.org("acme")
    # A sub-domain shaped like an id could only come from before sub-domains were
    # checked; the schema refuses one now (migration 0005 refuses to keep one).
    with pytest.raises(IntegrityError), engine.begin() as c:
        c.execute(
            insert(m.Organization).values(id="org_legacy0000000001", name="Legacy", sub_domain=acme)
        )
    with engine.connect() as c:
        assert organization_ids(c, [acme]) == {acme}
        assert organization_ids(c, ["acme"]) == {acme}
        assert organization_ids(c, ["mallory", acme]) == {acme, ids.org("mallory")}
        assert organization_ids(c, []) == frozenset()
        assert admin.find_organization(c, acme) == acme


# -- W1: a file cannot break an allocation ------------------------------------------------


def test_w1_re_addressing_an_allocated_ip_is_refused(engine: Engine) -> None:
    ids = load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["ip_addresses"][0] = ip(
        "203.0.113.10", id=ids.ip("192.0.2.10"), allocated_to="web-1"
    )
    refused(
        engine,
        document,
        "ip_addresses[0] (203.0.113.10)",
        "192.0.2.10 is allocated to",
        "cannot change",
    )


def test_w1_a_free_ip_may_be_re_addressed(engine: Engine) -> None:
    ids = load(engine, two_organizations())
    free = ids.ip("192.0.2.11")
    document = acme_file()
    document["organizations"][0]["ip_addresses"][1] = ip("203.0.113.11", id=free)
    load(engine, document)
    assert ids.ip("203.0.113.11") == free


def test_w1_the_network_of_an_interface_carrying_an_allocation_cannot_change(
    engine: Engine,
) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["virtual_machines"][0]["network_interfaces"] = [{"network": OTHER}]
    refused(
        engine,
        document,
        "virtual_machines[0] (web-1) > network_interfaces[0] (eth0)",
        "carries an allocation",
    )


def test_w1_an_interface_carrying_an_allocation_cannot_move_to_another_vm(
    engine: Engine,
) -> None:
    ids = load(engine, two_organizations())
    carrying = ids.nic("acme", "web-1", LONDON_PUBLIC)  # 192.0.2.10 is allocated through it
    document = acme_file()
    acme = document["organizations"][0]
    acme["virtual_machines"][0]["network_interfaces"] = []  # left out: kept as it is
    acme["virtual_machines"].append(
        vm("web-2", network_interfaces=[{"id": carrying, "name": "eth7", "network": LONDON_PUBLIC}])
    )
    refused(
        engine,
        document,
        "organizations[0] (acme) > virtual_machines[1] (web-2) > network_interfaces[0] (eth7)",
        "carries an allocation, so it cannot move to another virtual machine",
    )


def test_w1_an_interface_carrying_nothing_may_move_to_another_vm(engine: Engine) -> None:
    document = two_organizations()
    document["organizations"][0]["virtual_machines"][0]["network_interfaces"].append(
        {"name": "spare", "network": OTHER}
    )
    ids = load(engine, document)
    spare = ids.nic("acme", "web-1", OTHER)
    document = acme_file()
    document["organizations"][0]["virtual_machines"].append(
        vm("web-2", network_interfaces=[{"id": spare, "name": "spare", "network": OTHER}])
    )
    load(engine, document)
    assert ids.nic("acme", "web-2", OTHER) == spare


def test_w1_allocating_to_a_vm_in_the_trash_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    document["organizations"][0]["virtual_machines"][0]["in_trash"] = True
    document["organizations"][0]["ip_addresses"][1]["allocated_to"] = "web-1"
    refused(engine, document, "ip_addresses[1] (192.0.2.11) > allocated_to", "in the trash")


# -- W2: a key or id listed twice anywhere in the file -------------------------------------


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        (lambda d: d["organizations"].append(organization("acme", name="Evil Corp")),
         ["organizations[2] (acme)", "sub_domain 'acme' is listed twice",
          "(also organizations[0] (acme))"]),
        (lambda d: d["organizations"][1]["ip_addresses"].append(ip("192.0.2.21", id=GLOBEX_IP)),
         ["organizations[1] (globex) > ip_addresses[1] (192.0.2.21)", "listed twice",
          "(also organizations[1] (globex) > ip_addresses[0] (192.0.2.20))"]),
        (lambda d: d["organizations"][0]["virtual_machines"].append(vm("web-9", id=GLOBEX_VM)),
         ["organizations[1] (globex) > virtual_machines[0] (app-1)",
          f"virtual machine id '{GLOBEX_VM}' is listed twice",
          "(also organizations[0] (acme) > virtual_machines[1] (web-9))"]),
        (lambda d: d["organizations"][0]["virtual_machines"].append(
            vm("web-2", fqdn="WEB-1.example.net.")),
         ["virtual_machines[1] (web-2)", "fqdn 'WEB-1.example.net.' is listed twice",
          "(also organizations[0] (acme) > virtual_machines[0] (web-1))"]),
        (lambda d: [v["network_interfaces"][0].update(mac_address="02:00:00:00:00:01")
                    for o in d["organizations"] for v in o["virtual_machines"]],
         ["organizations[1] (globex) > virtual_machines[0] (app-1) > network_interfaces[0]",
          "mac_address '02:00:00:00:00:01' is listed twice"]),
        (lambda d: [o.update(api_tokens=[{"name": "t", "secret": "s" * 32}])
                    for o in d["organizations"]],
         ["organizations[1] (globex) > api_tokens[0] (t)", "token secret", "listed twice",
          "(also organizations[0] (acme) > api_tokens[0] (t))"]),
        (lambda d: d["networks"][1]["subnets"].append({"cidr": "192.0.2.0/24"}),
         ["networks[1] (uk-lon-01-other) > subnets[1] (192.0.2.0/24)", "listed twice"]),
    ],
)  # fmt: skip
def test_w2_a_key_listed_twice_anywhere_is_refused(
    engine: Engine, change: Any, messages: list[str]
) -> None:
    document = two_organizations()
    change(document)
    text = refused(engine, document, *messages)
    assert "s" * 32 not in text


# -- W3: a subnet cannot leave stored addresses outside it -------------------------------


def test_w3_a_new_cidr_that_strands_stored_addresses_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    with engine.connect() as c:
        subnet = c.execute(select(m.Subnet.id).where(m.Subnet.cidr == "192.0.2.0/24")).scalar_one()
    # No organizations in the file: only the database knows the addresses.
    document = inventory(
        networks=[network(LONDON_PUBLIC), network(OTHER, "203.0.113.0/24", default=False)]
    )
    document["networks"][0]["subnets"] = [{"id": subnet, "cidr": "198.51.100.0/24"}]
    refused(
        engine,
        document,
        "networks[0] (uk-lon-01-public) > subnets[0] (198.51.100.0/24)",
        "would be outside it",
    )


def test_w3_a_subnet_holding_addresses_cannot_move_to_another_network(engine: Engine) -> None:
    load(engine, two_organizations())
    document = inventory(
        networks=[network(LONDON_PUBLIC, "198.51.100.0/24"), network(OTHER, "192.0.2.0/24")]
    )
    refused(engine, document, "networks[1] (uk-lon-01-other) > subnets[0] (192.0.2.0/24)",
            "cannot move to another network")  # fmt: skip


def test_probe_42_a_subnet_change_stranding_listed_addresses_is_refused(engine: Engine) -> None:
    load(engine, two_organizations())
    with engine.connect() as c:
        subnet = c.execute(select(m.Subnet.id).where(m.Subnet.cidr == "192.0.2.0/24")).scalar()
    document = two_organizations()
    document["networks"][0]["subnets"] = [{"id": subnet, "cidr": "192.0.2.0/25"}]
    document["organizations"][0]["ip_addresses"].append(ip("192.0.2.200"))
    refused(engine, document, "ip_addresses[2] (192.0.2.200)", "no subnet contains")


def test_w3_a_cidr_that_still_holds_every_address_is_accepted(engine: Engine) -> None:
    ids = load(engine, two_organizations())
    document = two_organizations()
    document["networks"][0]["subnets"] = [{"cidr": "192.0.2.0/25"}]
    with engine.connect() as c:
        before = c.execute(select(m.Subnet.id).where(m.Subnet.cidr == "192.0.2.0/24")).scalar()
    document["networks"][0]["subnets"][0]["id"] = before
    load(engine, document)
    assert ids.ip("192.0.2.10")


# -- W7: the file's allocations are in the audit log --------------------------------------


def test_w7_allocations_made_by_a_file_are_audited_once(engine: Engine) -> None:
    document = two_organizations()
    load_inventory(engine, parse_inventory(document), source="inventory.yaml")
    ids = Ids(engine)
    table = m.AllocationEvent.__table__
    with engine.connect() as c:
        events = c.execute(select(table).order_by(table.c.address)).all()
    assert [(e.address, e.action, e.actor_type, e.actor_id, e.request_id) for e in events] == [
        ("192.0.2.10", "allocate", "inventory", "inventory.yaml", None),
        ("192.0.2.20", "allocate", "inventory", "inventory.yaml", None),
    ]
    assert events[0].virtual_machine_id == ids.vm("acme", "web-1")
    assert events[0].network_interface_id == ids.nic("acme", "web-1", LONDON_PUBLIC)
    assert events[0].organization_id == ids.org("acme")
    load_inventory(engine, parse_inventory(document), source="inventory.yaml")
    with engine.connect() as c:
        assert len(c.execute(select(table)).all()) == 2


# -- C1: bad input is one line naming the entry -------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("countries:\n  - {name: \"\xe9\", iso_code2: FR, iso_code3: FRA}\n".encode("latin-1"),
         "not UTF-8 text (byte 23)"),
        ("countries: []\n".encode("utf-16"), "not UTF-8 text (byte 0)"),
    ],
)  # fmt: skip
def test_c1_a_file_that_is_not_utf8_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_bytes(data)
    with pytest.raises(InventoryError, match=re.escape(message)):
        read_inventory(path)


def with_acme(*vms: dict[str, Any], ips: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return inventory(
        organization("acme", vms=vms, ips=ips),
        networks=[network(LONDON_PUBLIC, "192.0.2.0/24", "fe80::/64")],
    )


@pytest.mark.parametrize(
    ("document", "messages"),
    [
        (with_acme(ips=(ip("fe80::1%eth0"),)),
         ["ip_addresses[0] (fe80::1%eth0) > address", "zone"]),
        (with_acme(vm("web-1", id="vm_" + "x" * 40)),
         ["virtual_machines[0] (web-1) > id", "at most 32"]),
        (with_acme(vm("n" * 300)), ["virtual_machines[0]", "> name", "at most 255"]),
        (with_acme(vm("web-1", id="web-1")), ["virtual_machines[0] (web-1) > id", "pattern"]),
        (with_acme(vm("web-1", network_interfaces=[
            {"network": LONDON_PUBLIC, "mac_address": "not a mac at all, far too long"}])),
         ["network_interfaces[0] > mac_address"]),
        (with_acme(vm("web-1", network_interfaces=[
            {"network": LONDON_PUBLIC, "mac_address": "02:00:00:00:00:zz"}])),
         ["network_interfaces[0] > mac_address", "not a MAC address"]),
        (with_acme(vm("web-1", fqdn="web 1.example.net")), ["virtual_machines[0] (web-1) > fqdn",
                                                           "not a DNS name"]),
        (with_acme(vm("web-1", fqdn="web/1.example.net")), ["> fqdn", "not a DNS name"]),
        (with_acme(vm("web-1", fqdn="web-1.example.net\x00")), ["> fqdn", "NUL"]),
        (with_acme(vm("web-1", fqdn="a" * 64 + ".example.net")), ["> fqdn", "not a DNS name"]),
        (with_acme(vm("web-1", fqdn=("a" * 60 + ".") * 5 + "net")), ["> fqdn"]),
        (with_acme(ips=(ip("192.0.2.10", vip=True, label="v\x00"),)), ["> label", "NUL"]),
        (with_acme(vm("web-1", id=ACME_VM), vm("web-2", id=ACME_VM)),
         ["virtual_machines[1] (web-2)", f"virtual machine id '{ACME_VM}' is listed twice"]),
        (with_acme(vm("web-1"), vm("web-2", fqdn="WEB-1.example.net.")), ["listed twice"]),
        (with_acme(vm("web-1", network_interfaces=[
            {"network": LONDON_PUBLIC, "mac_address": "02:00:00:00:00:01"},
            {"network": LONDON_PUBLIC, "mac_address": "02-00-00-00-00-01"}])),
         ["network_interfaces[1] (eth1)", "listed twice"]),
    ],
)  # fmt: skip
def test_c1_bad_values_are_refused_naming_the_entry(
    engine: Engine, document: dict[str, Any], messages: list[str]
) -> None:
    refused(engine, document, *messages)


def test_c1_a_value_the_database_holds_elsewhere_names_the_entry(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file()
    mac = "02:00:00:00:00:42"
    document["organizations"][0]["virtual_machines"].append(
        vm("web-2", network_interfaces=[{"network": LONDON_PUBLIC, "mac_address": mac}])
    )
    load(engine, document)
    other = acme_file()
    other["organizations"][0]["virtual_machines"].append(
        vm("web-3", network_interfaces=[{"network": LONDON_PUBLIC, "mac_address": mac}])
    )
    refused(engine, other, "virtual_machines[1] (web-3) > network_interfaces[0]", "already used")
    tokens = acme_file(api_tokens=[{"name": "ci", "secret": "s" * 32}])
    load(engine, tokens)
    globex = two_organizations()
    globex["organizations"] = [globex["organizations"][1]]
    globex["organizations"][0]["api_tokens"] = [{"name": "ci", "secret": "s" * 32}]
    text = refused(engine, globex, "organizations[0] (globex) > api_tokens[0] (ci)", "already used")
    assert "s" * 32 not in text


def test_c1_an_fqdn_another_vm_has_names_the_entry(engine: Engine) -> None:
    load(engine, two_organizations())
    document = acme_file(virtual_machines=[vm("web-2", fqdn="WEB-1.example.net.")])
    refused(engine, document, "virtual_machines[0] (web-2)",
            "the fqdn 'web-1.example.net' is already used by")  # fmt: skip
    # Another organization may have the same FQDN.
    globex = two_organizations()
    globex["organizations"] = [globex["organizations"][1]]
    globex["organizations"][0]["virtual_machines"].append(vm("web-1"))
    load(engine, globex)


def test_c1_two_interfaces_swapping_their_macs_in_one_file_are_refused(engine: Engine) -> None:
    # A known limit: a value a stored row holds is refused to another row, even one the
    # same file moves off it. Swap through a free value, in two loads.
    first, second = "02:00:00:00:00:01", "02:00:00:00:00:02"
    nics = [{"network": LONDON_PUBLIC, "mac_address": first},
            {"network": LONDON_PUBLIC, "mac_address": second}]  # fmt: skip
    load(engine, with_acme(vm("web-1", network_interfaces=nics)))
    swapped = [nics[0] | {"mac_address": second}, nics[1] | {"mac_address": first}]
    refused(engine, with_acme(vm("web-1", network_interfaces=swapped)),
            "virtual_machines[0] (web-1) > network_interfaces[0] (eth0)",
            f"the mac_address '{second}' is already used by")  # fmt: skip


def test_c1_through_the_command_line_one_line_and_no_traceback(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b'countries:\n  - {name: "\xe9", iso_code2: FR, iso_code3: FRA}\n')
    result = CliRunner().invoke(
        app, ["load", str(path)], env={"KATAPULT_IPAM_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("nothing was loaded: ")
    assert "not UTF-8" in result.output


# -- C3: the demo needs an organization ----------------------------------------------------


def test_c3_demo_without_organizations_is_one_line(database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("countries: []\n")
    result = CliRunner().invoke(
        app, ["demo", str(path)], env={"KATAPULT_IPAM_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert result.output.strip() == f"nothing was loaded: {path}: the demo needs an organization"


# -- C5: aliases and huge files are refused before they cost anything ----------------------


def alias_bomb(width: int) -> str:
    """width x width x width strings from a file of a few kilobytes, once aliases expand."""
    names = ", ".join(f"n{i}" for i in range(width))
    row = ", ".join("*a" for _ in range(width))
    plane = ", ".join("*b" for _ in range(width))
    return (
        f"x: &a [{names}]\ny: &b [{row}]\nz: &c [{plane}]\n"
        "countries: [{name: *c, iso_code2: GB, iso_code3: GBR}]\n"
    )


def test_c5_an_alias_bomb_is_refused_before_it_expands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(120))
    assert path.stat().st_size < 2000
    # Every node the parser builds: the refusal comes at the first alias, before any
    # expansion (a node named again), so only the file's own few nodes are built.
    built: list[yaml.Node] = []
    construct = _NoAliasLoader.construct_object

    def counting(self: _NoAliasLoader, node: yaml.Node, deep: bool = False) -> Any:
        built.append(node)
        return construct(self, node, deep)

    monkeypatch.setattr(_NoAliasLoader, "construct_object", counting)
    with pytest.raises(InventoryError, match="aliases") as caught:
        read_inventory(path)
    assert str(caught.value).endswith("are not accepted in an inventory (line 1, column 4)")
    # The last node built is the first named again (&a, x's list, by y's first *a), and
    # no other node was built twice: nothing expanded.
    assert built.count(built[-1]) == 2
    assert built[-1].start_mark.line == 0
    assert len(built) == len(set(map(id, built))) + 1


def test_c5_a_file_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("countries: []\n" + "#" * 1000 + "\n")
    with pytest.raises(InventoryError, match="larger than 100 bytes"):
        read_inventory(path, max_bytes=100)


# -- N8: a key given twice in one mapping is refused, not last-wins ------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("organizations:\n  - name: Acme\n    sub_domain: acme\n"
         "    ip_addresses: [{address: 192.0.2.11, address: 192.0.2.12}]\n",
         "the key 'address' is given twice in one mapping (first on line 4) (line 4, column 42)"),
        ("countries: []\norganizations: []\ncountries: []\n",
         "the key 'countries' is given twice in one mapping (first on line 1) (line 3, column 1)"),
        ("organizations:\n  - name: A\n    name: B\n    sub_domain: a\n",
         "the key 'name' is given twice in one mapping (first on line 2) (line 3, column 5)"),
        # Quoting does not make it another key.
        ("countries: []\n\"countries\": []\n", "the key 'countries' is given twice"),
    ],
)  # fmt: skip
def test_n8_a_key_given_twice_is_refused_naming_where(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        read_inventory(path)
    assert str(caught.value).startswith(f"{path}: cannot read: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_n8_the_same_key_in_two_mappings_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "organizations:\n  - {name: A, sub_domain: a, ip_addresses: [{address: 192.0.2.11}]}\n"
        "  - {name: B, sub_domain: b, ip_addresses: [{address: 192.0.2.12}]}\n"
    )
    assert [o.name for o in read_inventory(path).organizations] == ["A", "B"]


# -- N10: one spelling per permalink --------------------------------------------------------


def test_n10_a_permalink_in_another_case_is_refused_not_created(
    engine: Engine, world: World
) -> None:
    document = standard_inventory()
    document["data_centers"].append({"name": "London", "permalink": "UK-LON-01", "country": "GB"})
    refused(engine, document, "data_centers[2] (London) > permalink:", "'UK-LON-01'")


# -- K3: an unchanged file changes and counts nothing ------------------------------------


def test_k3_reloading_an_unchanged_file_reports_no_change(engine: Engine, world: World) -> None:
    before = world.snapshot()
    report = load_inventory(engine, parse_inventory(standard_inventory()))
    assert (dict(report.created), dict(report.updated)) == ({}, {})
    assert world.snapshot() == before


def test_k3_only_what_changed_is_counted(engine: Engine, world: World) -> None:
    document = standard_inventory()
    document["organizations"][0]["virtual_machines"][0]["hostname"] = "renamed"
    report = load_inventory(engine, parse_inventory(document))
    assert (dict(report.created), dict(report.updated)) == ({}, {"virtual_machine": 1})


# -- A hostname left out is the FQDN's first label, as stored ------------------------------


def test_the_default_hostname_comes_from_the_normalised_fqdn(engine: Engine) -> None:
    load(engine, with_acme(vm("web-1", fqdn=" WEB-1.Example.NET. ")))
    with engine.connect() as c:
        stored = c.execute(select(m.VirtualMachine.hostname, m.VirtualMachine.fqdn)).one()
    assert tuple(stored) == ("web-1", "web-1.example.net")


# -- References by id, as the README promises -------------------------------------------


def test_references_by_id_work_everywhere(engine: Engine) -> None:
    first = load(engine, inventory())
    with engine.connect() as c:
        country = c.execute(select(m.Country.id)).scalar_one()
        data_center = c.execute(select(m.DataCenter.id)).scalar_one()
        public = c.execute(select(m.Network.id)).scalar_one()
    document = inventory(
        organization("acme", vms=[vm("web-1", public, id=ACME_VM)],
                     ips=[ip("192.0.2.10", allocated_to=ACME_VM)]),
        networks=[network("uk-lon-01-second", "198.51.100.0/24", data_center=data_center)],
    )  # fmt: skip
    document["data_centers"].append({"name": "Second", "permalink": "second", "country": country})
    load(engine, document)
    assert first.nic("acme", "web-1", LONDON_PUBLIC)
    with engine.connect() as c:
        second = c.execute(select(m.DataCenter).where(m.DataCenter.permalink == "second")).one()
        allocated = c.execute(
            select(m.IPAddress.allocation_id).where(m.IPAddress.address == "192.0.2.10")
        ).scalar_one()
    assert second.country_id == country
    assert allocated == ACME_VM


# -- Left out means left as it is -------------------------------------------------------


def test_optional_fields_left_out_keep_their_stored_values(engine: Engine) -> None:
    document = inventory(
        organization("acme", suspended=True, activated=False),
        networks=[network(LONDON_PUBLIC, rdns_zone="rdns.example.net")],
    )
    ids = load(engine, document)
    again = inventory(organization("acme"), networks=[network(LONDON_PUBLIC)])
    del again["networks"][0]["subnets"][0]["rdns_zone"]
    load(engine, again)
    with engine.connect() as c:
        org = c.execute(select(m.Organization).where(m.Organization.id == ids.org("acme"))).one()
        zone = c.execute(select(m.Subnet.rdns_zone)).scalar_one()
    assert (org.suspended, org.activated, zone) == (True, False, "rdns.example.net")
    # Said explicitly, a value changes.
    load(engine, inventory(organization("acme", suspended=False)))
    with engine.connect() as c:
        assert not c.execute(select(m.Organization.suspended)).scalar_one()


# -- N3: what the checks read is still so when the loader writes (PostgreSQL) -------------
# SQLite's load holds the write lock from its first statement, so the API cannot allocate
# meanwhile; on PostgreSQL it can, between the loader's read and its write.


def only_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's load holds the write lock throughout: nothing allocates meanwhile")


def before_writing(monkeypatch: pytest.MonkeyPatch, kind: str, meanwhile: Any) -> None:
    """Run ``meanwhile()`` once the loader has read and checked the ``kind`` rows, just
    before it writes them."""
    original = _Loader._write

    calls: list[object] = []

    def write(self: _Loader, what: str, *args: Any) -> None:
        if what == kind and not calls:  # the first organization's
            calls.append(meanwhile())
        original(self, what, *args)

    monkeypatch.setattr(_Loader, "_write", write)


def test_n3_an_ip_allocated_through_the_api_meanwhile_is_not_re_addressed(
    engine: Engine, world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_on_postgresql(engine)
    document = standard_inventory()
    document["organizations"][0]["ip_addresses"][2] = {
        "id": world.ip("192.0.2.12"),
        "address": "192.0.2.60",
    }
    answers = []
    web_1 = world.vm("web-1")

    def allocate_12() -> None:
        body = {"virtual_machine": {"id": web_1}, "ip_address": {"address": "192.0.2.12"}}
        answers.append(allocate(client, body))

    before_writing(monkeypatch, "ip_address", allocate_12)
    with pytest.raises(InventoryError) as caught:
        load_inventory(engine, parse_inventory(document))
    assert str(caught.value) == (
        "organizations[0] (acme) > ip_addresses[2] (192.0.2.60): changed while loading"
        " (it was allocated or taken meanwhile): load again"
    )
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["ip_address"]["address"] == "192.0.2.12"
    # What the client was told and what the audit log says is what is stored.
    row = world.ip_row("192.0.2.12")
    assert (row.id, row.allocation_id) == (world.ip("192.0.2.12"), world.vm("web-1"))
    with engine.connect() as c:
        assert c.execute(select(m.AllocationEvent.address)).scalars().all() == ["192.0.2.12"]
        # 192.0.2.60 is still a free address of the pool, nobody's.
        assert c.execute(
            select(m.IPAddress.organization_id).where(m.IPAddress.address == "192.0.2.60")
        ).all() == [(None,)]


def test_n3_an_interface_allocated_through_meanwhile_keeps_its_network(
    engine: Engine, world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_on_postgresql(engine)
    document = standard_inventory()
    web_2 = document["organizations"][0]["virtual_machines"][1]
    web_2["network_interfaces"][0]["network"] = "uk-lon-01-private"  # was nl-ams-01-public
    answers = []
    web_2_id = world.vm("web-2")

    def allocate_through_eth0() -> None:
        body = {"virtual_machine": {"id": web_2_id}, "ip_address": {"address": "198.51.100.10"}}
        answers.append(allocate(client, body))

    before_writing(monkeypatch, "network_interface", allocate_through_eth0)
    with pytest.raises(InventoryError) as caught:
        load_inventory(engine, parse_inventory(document))
    assert str(caught.value) == (
        "organizations[0] (acme) > virtual_machines[1] (web-2) > network_interfaces[0] (eth0):"
        " changed while loading (an address was allocated through it meanwhile): load again"
    )
    (answer,) = answers
    assert answer.status_code == 200, answer.text
    row = world.ip_row("198.51.100.10")
    assert row.network_interface_id == world.nic("web-2", "eth0")
    with engine.connect() as c:
        nic = c.execute(
            select(m.NetworkInterface.network_id).where(
                m.NetworkInterface.id == world.nic("web-2", "eth0")
            )
        ).scalar_one()
    assert nic == row.network_id


@pytest.mark.parametrize(
    ("address", "vm_name", "nic_name", "change", "entry"),
    [
        ("192.0.2.12", "web-1", "eth0",
         lambda d, w: d["organizations"][0]["ip_addresses"].__setitem__(
             2, {"id": w.ip("192.0.2.12"), "address": "192.0.2.60"}),
         "ip_addresses[2] (192.0.2.60)"),
        ("198.51.100.10", "web-2", "eth0",
         lambda d, w: d["organizations"][0]["virtual_machines"][1]["network_interfaces"][0]
         .__setitem__("network", "uk-lon-01-private"),
         "virtual_machines[1] (web-2) > network_interfaces[0] (eth0)"),
    ],
)  # fmt: skip
def test_n3_an_allocation_not_yet_committed_when_the_loader_writes_stands(
    engine: Engine,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    address: str,
    vm_name: str,
    nic_name: str,
    change: Any,
    entry: str,
) -> None:
    """The allocation's transaction commits while the loader's update waits for it (or
    before the update begins: refused either way)."""
    only_on_postgresql(engine)
    document = standard_inventory()
    change(document, world)
    ip_id, vm_id, nic_id = world.ip(address), world.vm(vm_name), world.nic(vm_name, nic_name)
    holder = engine.connect()
    timers: list[threading.Timer] = []

    def allocate_uncommitted() -> None:
        holder.begin()
        own = frozenset({world.ip_row(address).organization_id})
        ip = resolve_ip_address(holder, own, Lookup("id", ip_id))
        assert allocate_if_free(holder, ip, vm_id, nic_id, datetime.now(UTC))
        timers.append(threading.Timer(0.3, holder.commit))
        timers[0].start()

    before_writing(monkeypatch, world_kind(entry), allocate_uncommitted)
    try:
        with pytest.raises(InventoryError, match=f"{re.escape(entry)}: changed while loading"):
            load_inventory(engine, parse_inventory(document))
    finally:
        for timer in timers:
            timer.join()
        holder.close()
    row = world.ip_row(address)
    assert (row.id, row.allocation_id, row.network_interface_id) == (ip_id, vm_id, nic_id)


def world_kind(entry: str) -> str:
    return "network_interface" if "network_interfaces" in entry else "ip_address"
