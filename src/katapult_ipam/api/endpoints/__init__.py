"""One module per resource group; ENDPOINTS lists everything the API serves."""

from katapult_ipam.api.endpoints import ip_addresses, virtual_machines
from katapult_ipam.api.framework import Endpoint

ENDPOINTS: list[Endpoint] = [*virtual_machines.ENDPOINTS, *ip_addresses.ENDPOINTS]
