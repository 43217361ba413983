"""Rendered objects: production's keys, in production's order, for each shape."""

from __future__ import annotations

from datetime import UTC, datetime

from katapult_ipam.api.objects.ip_addresses import allocation, ip_address
from katapult_ipam.api.objects.locations import data_center, network, network_compact
from katapult_ipam.api.objects.network_interfaces import (
    network_interface,
    network_interface_listed,
    network_interface_with_speed_profile,
)
from katapult_ipam.api.objects.trash_objects import trash_object
from katapult_ipam.store.records import (
    AllocatedTo,
    CountryRecord,
    DataCenterRecord,
    InterfaceAddressRecord,
    IPAddressRecord,
    NetworkInterfaceRecord,
    NetworkRecord,
    SpeedProfileRecord,
    SubnetRecord,
    TrashObjectRecord,
)

UK = CountryRecord("ctry_6AO9tYYugvTGnd5b", "United Kingdom", "GB", "GBR", "Europe/London", False)
LONDON = DataCenterRecord("loc_UUhPmoCbpic6UX0Y", "London", "uk-lon-01", UK)
PUBLIC = NetworkRecord("netw_gVRkZdSKczfNg34P", "Public Network", "uk-lon-01-public", True, LONDON)
SUBNET = SubnetRecord(
    "sbnt_YrLWopCUkImX4wo9", "185.199.221.0", "185.199.221.1", 24, True, 4, "rdns.katapult.cloud"
)


def address(allocated_to: AllocatedTo | None = None, zone: str | None = None) -> IPAddressRecord:
    subnet = SubnetRecord(**{**SUBNET.__dict__, "rdns_zone": zone})
    return IPAddressRecord(
        id="ip_1mm1JmmMV8dU6Cnb",
        address="185.199.221.195",
        vip=False,
        label=None,
        allocated_to=allocated_to,
        network=PUBLIC,
        subnet=subnet,
    )


def test_an_allocated_ip_address_as_production_renders_it() -> None:
    vm = AllocatedTo(
        "VirtualMachine", "vm_qC7gbcRV2n1MgWRc", "tf-acc-test-icy-helpful-bee",
        "tf-acc-test-icy-helpful-bee.terraform-acc-test.katapult.cloud",
    )  # fmt: skip
    rendered = ip_address(address(vm), "rdns.default.invalid")
    assert list(rendered) == [
        "id", "address", "reverse_dns", "vip", "label", "address_with_mask",
        "network", "subnet", "allocation_id", "allocation_type",
    ]  # fmt: skip
    assert rendered["reverse_dns"] == vm.fqdn
    assert rendered["address_with_mask"] == "185.199.221.195/24"
    assert rendered["subnet"] == {
        "id": "sbnt_YrLWopCUkImX4wo9", "address": "185.199.221.0", "gateway": "185.199.221.1",
        "mask": 24, "billable": True, "version": 4,
    }  # fmt: skip
    assert list(rendered["network"]) == ["id", "name", "permalink", "default", "data_center"]
    assert list(rendered["network"]["data_center"]["country"]) == [
        "id", "name", "iso_code2", "iso_code3", "time_zone", "eu",
    ]  # fmt: skip
    assert allocation(address(vm)) == {
        "type": "VirtualMachine",
        "value": {"id": "vm_qC7gbcRV2n1MgWRc", "name": "tf-acc-test-icy-helpful-bee"},
    }


def test_a_free_address_answers_under_its_subnet_zone_or_the_default() -> None:
    assert ip_address(address(zone="rdns.katapult.cloud"), "z.invalid")["reverse_dns"] == (
        "185-199-221-195.rdns.katapult.cloud"
    )
    assert ip_address(address(zone=None), "z.invalid")["reverse_dns"] == "185-199-221-195.z.invalid"
    assert allocation(address()) is None


def test_network_and_data_center_shapes() -> None:
    assert network(PUBLIC)["data_center"] == {
        "id": "loc_UUhPmoCbpic6UX0Y", "name": "London", "permalink": "uk-lon-01",
        "country": {
            "id": "ctry_6AO9tYYugvTGnd5b", "name": "United Kingdom", "iso_code2": "GB",
            "iso_code3": "GBR", "time_zone": "Europe/London", "eu": False,
        },
    }  # fmt: skip
    assert network_compact(PUBLIC) == {
        "id": "netw_gVRkZdSKczfNg34P", "name": "Public Network", "permalink": "uk-lon-01-public",
        "default": True,
        "data_center": {"id": "loc_UUhPmoCbpic6UX0Y", "name": "London", "permalink": "uk-lon-01"},
    }  # fmt: skip
    assert data_center(LONDON) == {
        "id": "loc_UUhPmoCbpic6UX0Y", "name": "London", "permalink": "uk-lon-01",
        "country": {"id": "ctry_6AO9tYYugvTGnd5b", "name": "United Kingdom"},
    }  # fmt: skip


def test_network_interface_shapes() -> None:
    interface = NetworkInterfaceRecord(
        id="vmnet_x", name="Public Network on web-1", virtual_machine_id="vm_x",
        virtual_machine_name="web-1", network_id=PUBLIC.id, network_name=PUBLIC.name,
        mac_address="02:00:00:00:00:01", state="attached",
        ip_addresses=(
            InterfaceAddressRecord("ip_a", "192.0.2.1", "web-1.example.com", "192.0.2.1/24"),
        ),
        speed_profile=SpeedProfileRecord("nsp_FKZSFo5xhn9Pfr79", "10Gbps", "10gbps"),
    )  # fmt: skip
    full = network_interface_with_speed_profile(interface)
    assert list(full)[-1] == "speed_profile"
    assert full["speed_profile"] == {
        "id": "nsp_FKZSFo5xhn9Pfr79", "name": "10Gbps", "permalink": "10gbps",
    }  # fmt: skip
    single = network_interface(interface)
    assert list(single) == [
        "id", "virtual_machine", "name", "network", "virtual_network", "mac_address", "state",
        "ip_addresses",
    ]  # fmt: skip
    assert single["ip_addresses"] == [{"id": "ip_a", "address": "192.0.2.1"}]
    listed = network_interface_listed(interface)
    assert list(listed) == ["id", "name", "network", "virtual_network", "ip_addresses"]
    assert listed["ip_addresses"] == [
        {"id": "ip_a", "address": "192.0.2.1", "reverse_dns": "web-1.example.com",
         "address_with_mask": "192.0.2.1/24"},
    ]  # fmt: skip


def test_a_trash_object_keeps_until_a_unix_time() -> None:
    record = TrashObjectRecord(
        "trsh_HqXxC7ObTNkvLyNt",
        datetime.fromtimestamp(1739032876, UTC),
        "vm_1n1jYQzatKHjPKDS",
        "VirtualMachine",
    )
    assert trash_object(record) == {
        "id": "trsh_HqXxC7ObTNkvLyNt",
        "keep_until": 1739032876,
        "object_id": "vm_1n1jYQzatKHjPKDS",
        "object_type": "VirtualMachine",
    }
