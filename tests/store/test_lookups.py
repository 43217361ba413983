"""Every lookup's resolver on a real database, without HTTP: found by each key, or refused.

Another organization's object is not found, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from katapult_ipam.api import lookups
from katapult_ipam.api.errors import ORGANIZATION_NOT_FOUND
from katapult_ipam.domain import errors as domain
from katapult_ipam.domain.lookups import Lookup
from katapult_ipam.store.queries.ip_addresses import resolve_ip_address
from katapult_ipam.store.queries.locations import resolve_data_center, resolve_network
from katapult_ipam.store.queries.network_interfaces import resolve_network_interface
from katapult_ipam.store.queries.organizations import resolve_organization
from katapult_ipam.store.queries.trash_objects import resolve_trash_object
from katapult_ipam.store.queries.virtual_machines import resolve_virtual_machine
from tests.support.factories import Ids, inventory, ip, load, network, organization, vm

T = TypeVar("T")


@pytest.fixture
def ids(engine: Engine) -> Ids:
    return load(
        engine,
        inventory(
            organization(
                "acme",
                vms=[
                    vm("web", "pub", "priv"),
                    vm("old", "pub", in_trash=True),
                ],
                ips=[
                    ip("192.0.2.20", allocated_to="web"),
                    ip("192.0.2.3", allocated_to="web"),
                    ip("10.9.0.7", allocated_to="web"),
                    ip("192.0.2.99"),
                ],
            ),
            organization("globex", vms=[vm("app", "pub")], ips=[ip("192.0.2.50")]),
            organization("frozen", suspended=True),
            organization("newbie", activated=False),
            organization("both", suspended=True, activated=False),
            networks=[
                network("pub", "192.0.2.0/24", rdns_zone="rdns.example.org"),
                network("priv", "10.9.0.0/16", default=False),
            ],
        ),
    )


def resolve(engine: Engine, job: Callable[[Connection], T]) -> T:
    with engine.connect() as connection:
        return job(connection)


def refused(engine: Engine, job: Callable[[Connection], Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve(engine, job)


def test_organizations(engine: Engine, ids: Ids) -> None:
    mine = frozenset({ids.org("acme"), ids.org("frozen"), ids.org("newbie"), ids.org("both")})
    for lookup in (Lookup("id", ids.org("acme")), Lookup("sub_domain", "acme")):
        found = resolve(engine, partial(resolve_organization, organization_ids=mine, lookup=lookup))
        assert (found.id, found.sub_domain) == (ids.org("acme"), "acme")
    for lookup in (Lookup("sub_domain", "globex"), Lookup("id", ids.org("globex"))):
        refused(
            engine,
            partial(resolve_organization, organization_ids=mine, lookup=lookup),
            domain.OrganizationNotFound,
        )
    for name, error in [
        ("frozen", domain.OrganizationSuspended),
        ("newbie", domain.OrganizationNotActivated),
        ("both", domain.OrganizationSuspended),  # suspension wins
        ("nobody", domain.OrganizationNotFound),
    ]:
        lookup = Lookup("sub_domain", name)
        refused(engine, partial(resolve_organization, organization_ids=mine, lookup=lookup), error)
    # A suspended organization that is not the caller's is simply not found.
    refused(
        engine,
        lambda c: resolve_organization(c, {ids.org("acme")}, Lookup("sub_domain", "frozen")),
        domain.OrganizationNotFound,
    )


def test_data_centers_and_networks_are_everyone_s(engine: Engine, ids: Ids) -> None:
    london = resolve(engine, lambda c: resolve_data_center(c, Lookup("permalink", "uk-lon-01")))
    assert resolve(engine, lambda c: resolve_data_center(c, Lookup("id", london.id))) == london
    assert london.country.iso_code2 == "GB"
    public = resolve(engine, lambda c: resolve_network(c, Lookup("permalink", "pub")))
    assert resolve(engine, lambda c: resolve_network(c, Lookup("id", public.id))) == public
    assert public.data_center == london
    refused(
        engine, lambda c: resolve_data_center(c, Lookup("id", "dc_nope")), domain.DataCenterNotFound
    )
    refused(
        engine, lambda c: resolve_network(c, Lookup("permalink", "nope")), domain.NetworkNotFound
    )
    refused(engine, lambda c: resolve_network(c, Lookup("id", "netw_\x00")), domain.NetworkNotFound)


def test_a_data_center_id_may_be_dc_or_loc(engine: Engine) -> None:
    data = inventory(organization("acme"))
    data["data_centers"] = [
        {"id": "loc_UUhPmoCbpic6UX0Y", "name": "London", "permalink": "uk-lon-01", "country": "GB"},
        {
            "id": "dc_TfDSMyVYoS3fJnSt",
            "name": "New York",
            "permalink": "us-nyc-01",
            "country": "GB",
        },
    ]
    load(engine, data)
    for dc_id in ("loc_UUhPmoCbpic6UX0Y", "dc_TfDSMyVYoS3fJnSt"):
        assert resolve(engine, partial(resolve_data_center, lookup=Lookup("id", dc_id))).id == dc_id


def test_virtual_machines_and_ip_addresses(engine: Engine, ids: Ids) -> None:
    acme = frozenset({ids.org("acme")})
    web = resolve(
        engine, lambda c: resolve_virtual_machine(c, acme, Lookup("fqdn", "WEB.example.net"))
    )
    assert web.id == ids.vm("acme", "web")
    refused(
        engine,
        lambda c: resolve_virtual_machine(c, acme, Lookup("id", ids.vm("globex", "app"))),
        domain.VirtualMachineNotFound,
    )
    found = resolve(
        engine,
        lambda c: resolve_ip_address(
            c, frozenset({ids.org("acme")}), Lookup("address", "192.0.2.99")
        ),
    )
    assert found.id == ids.ip("192.0.2.99")
    assert found.subnet.rdns_zone == "rdns.example.org"
    refused(
        engine,
        lambda c: resolve_ip_address(
            c, frozenset({ids.org("acme")}), Lookup("id", ids.ip("192.0.2.50"))
        ),
        domain.IPAddressNotFound,
    )


def test_network_interfaces_list_their_addresses_by_subnet_then_address(
    engine: Engine, ids: Ids
) -> None:
    acme = frozenset({ids.org("acme")})
    nic_id = ids.nic("acme", "web", "pub")
    nic = resolve(engine, lambda c: resolve_network_interface(c, acme, Lookup("id", nic_id)))
    assert nic.virtual_machine_id == ids.vm("acme", "web")
    assert nic.network_name == "pub"
    # Numeric order within the subnet (3 before 20), not text order.
    assert [a.address for a in nic.ip_addresses] == ["192.0.2.3", "192.0.2.20"]
    assert nic.ip_addresses[0].reverse_dns == "web.example.net"
    assert nic.ip_addresses[0].address_with_mask == "192.0.2.3/24"
    private = resolve(
        engine,
        lambda c: resolve_network_interface(c, acme, Lookup("id", ids.nic("acme", "web", "priv"))),
    )
    assert [a.address for a in private.ip_addresses] == ["10.9.0.7"]
    other = ids.nic("globex", "app", "pub")
    refused(
        engine,
        lambda c: resolve_network_interface(c, acme, Lookup("id", other)),
        domain.NetworkInterfaceNotFound,
    )


def test_trash_objects_by_their_id_or_the_trashed_object_s(engine: Engine, ids: Ids) -> None:
    acme = frozenset({ids.org("acme")})
    old = ids.vm("acme", "old")
    trash = resolve(engine, lambda c: resolve_trash_object(c, acme, Lookup("object_id", old)))
    assert (trash.object_id, trash.object_type) == (old, "VirtualMachine")
    assert resolve(engine, lambda c: resolve_trash_object(c, acme, Lookup("id", trash.id))) == trash
    refused(
        engine,
        lambda c: resolve_trash_object(c, {ids.org("globex")}, Lookup("id", trash.id)),
        domain.TrashObjectNotFound,
    )


def test_each_lookup_declares_the_api_error_of_every_refusal_its_resolver_raises() -> None:
    assert lookups.ORGANIZATION.errors[domain.OrganizationNotFound] is ORGANIZATION_NOT_FOUND
    declared = [
        (
            lookups.ORGANIZATION,
            {
                domain.OrganizationNotFound,
                domain.OrganizationSuspended,
                domain.OrganizationNotActivated,
            },
        ),
        (lookups.VIRTUAL_MACHINE, {domain.VirtualMachineNotFound, domain.ObjectInTrash}),
        (lookups.IP_ADDRESS, {domain.IPAddressNotFound}),
        (lookups.DATA_CENTER, {domain.DataCenterNotFound}),
        (lookups.NETWORK, {domain.NetworkNotFound}),
        (lookups.NETWORK_INTERFACE, {domain.NetworkInterfaceNotFound}),
        (lookups.TRASH_OBJECT, {domain.TrashObjectNotFound}),
    ]
    for lookup, refusals in declared:
        assert set(lookup.errors) == refusals, lookup.name
        assert all(error.status in (403, 404, 406) for error in lookup.errors.values())


@pytest.mark.parametrize(
    "lookup_set",
    [
        lookups.ORGANIZATION,
        lookups.VIRTUAL_MACHINE,
        lookups.IP_ADDRESS,
        lookups.DATA_CENTER,
        lookups.NETWORK,
        lookups.NETWORK_INTERFACE,
        lookups.TRASH_OBJECT,
    ],
    ids=lambda lookup_set: lookup_set.name,
)
def test_each_lookup_resolves_through_its_own_resolver_and_declares_its_refusals(
    engine: Engine, ids: Ids, lookup_set: Any
) -> None:
    acme = frozenset({ids.org("acme")})
    for key in lookup_set.keys:
        with engine.connect() as connection, pytest.raises(Exception) as caught:  # noqa: PT011
            lookup_set.resolve(connection, acme, Lookup(key, "nothing-has-this-name"))
        # Whatever the resolver refuses with is declared, so an endpoint answers it.
        assert lookup_set.api_error_for(caught.value) is not None, (key, caught.value)
