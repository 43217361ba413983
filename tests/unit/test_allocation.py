"""The pure allocation decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from katapult_ipam.domain.allocation import (
    Decision,
    IPAddress,
    NetworkInterface,
    VirtualMachine,
    choose_interface,
    decide,
    ensure_usable,
)
from katapult_ipam.domain.errors import (
    IPAlreadyAllocated,
    NoInterfaceAvailable,
    ObjectInTrash,
    TrashObject,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VM = VirtualMachine("vm_a", "org_a", "a", "a.example.net")


def nic(id: str, network: str, age: int) -> NetworkInterface:
    return NetworkInterface(id, network, T0 + timedelta(seconds=age))


def test_a_free_ip_is_allocated() -> None:
    assert decide(IPAddress("ip_1", "netw_1", None, None), VM) is Decision.ALLOCATE


def test_an_ip_held_by_the_same_vm_is_a_repeat() -> None:
    ip = IPAddress("ip_1", "netw_1", "VirtualMachine", "vm_a")
    assert decide(ip, VM) is Decision.ALREADY_ALLOCATED_HERE


@pytest.mark.parametrize(("kind", "holder"), [("VirtualMachine", "vm_b"), ("LoadBalancer", "vm_a")])
def test_an_ip_held_by_anything_else_is_refused(kind: str, holder: str) -> None:
    with pytest.raises(IPAlreadyAllocated):
        decide(IPAddress("ip_1", "netw_1", kind, holder), VM)


def test_a_vm_in_the_trash_is_refused_with_its_trash_object() -> None:
    trash = TrashObject("trsh_1", 1700000000, "vm_a", "VirtualMachine")
    with pytest.raises(ObjectInTrash) as raised:
        ensure_usable(VirtualMachine("vm_a", "org_a", "a", "a.example.net", trash))
    assert raised.value.trash_object == trash
    ensure_usable(VM)


def test_the_oldest_interface_on_the_network_wins() -> None:
    chosen = choose_interface(
        [nic("n3", "netw_1", 3), nic("n1", "netw_2", 0), nic("n2", "netw_1", 1)], "netw_1"
    )
    assert chosen.id == "n2"


def test_no_interface_on_the_network() -> None:
    with pytest.raises(NoInterfaceAvailable):
        choose_interface([nic("n1", "netw_2", 0)], "netw_1")
    with pytest.raises(NoInterfaceAvailable):
        choose_interface([], "netw_1")


@given(
    st.lists(
        st.tuples(st.sampled_from(["netw_1", "netw_2"]), st.integers(0, 50)),
        min_size=1,
        max_size=8,
    )
)
def test_the_choice_is_on_the_network_and_no_other_is_older(
    interfaces: list[tuple[str, int]],
) -> None:
    nics = [nic(f"n{i}", network, age) for i, (network, age) in enumerate(interfaces)]
    on_network = [n for n in nics if n.network_id == "netw_1"]
    if not on_network:
        with pytest.raises(NoInterfaceAvailable):
            choose_interface(nics, "netw_1")
        return
    chosen = choose_interface(nics, "netw_1")
    assert chosen.network_id == "netw_1"
    assert all(chosen.created_at <= n.created_at for n in on_network)
    assert choose_interface(list(reversed(nics)), "netw_1") == chosen
