"""The allocation audit log, written in the transaction of the change it records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from katapult_ipam.store.driver import DriverStatement, timestamp_parameter


@dataclass(frozen=True)
class AllocationAudit:
    action: str
    organization_id: str
    actor_type: str
    actor_id: str
    ip_address_id: str
    address: str
    virtual_machine_id: str | None
    network_interface_id: str | None
    request_id: str | None
    operation: str  # the API operation id, e.g. ``post:ip_address_unallocate``


_RECORD_EVENT = DriverStatement(
    "INSERT INTO allocation_events (occurred_at, action, organization_id, actor_type,"
    " actor_id, ip_address_id, address, virtual_machine_id, network_interface_id, request_id,"
    " operation)"
    " VALUES (:occurred_at, :action, :organization_id, :actor_type, :actor_id,"
    " :ip_address_id, :address, :virtual_machine_id, :network_interface_id, :request_id,"
    " :operation)"
)


def record_event(connection: Connection, audit: AllocationAudit, now: datetime) -> None:
    """Append to the audit log, inside the caller's transaction."""
    parameters = {"occurred_at": timestamp_parameter(connection, now), **vars(audit)}
    _RECORD_EVENT.execute(connection, parameters).close()
