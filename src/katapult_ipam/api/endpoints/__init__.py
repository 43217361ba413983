"""One module per resource group; ENDPOINTS lists everything the API serves."""

from katapult_ipam.api.endpoints import (
    data_centers,
    ip_addresses,
    network_interfaces,
    networks,
    organizations,
    trash_objects,
    virtual_machines,
)
from katapult_ipam.api.framework import Endpoint

ENDPOINTS: list[Endpoint] = [
    *virtual_machines.ENDPOINTS,
    *ip_addresses.ENDPOINTS,
    *trash_objects.ENDPOINTS,
    *data_centers.ENDPOINTS,
    *networks.ENDPOINTS,
    *organizations.ENDPOINTS,
    *network_interfaces.ENDPOINTS,
]
