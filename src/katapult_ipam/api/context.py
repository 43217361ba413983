"""What an endpoint's action gets besides its arguments: the Call.

Not the process's container: an action learns who is calling, and may write,
read and render, nothing else. The handler builds one Call per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection

from katapult_ipam.auth.identity import Identity
from katapult_ipam.domain.actors import Actor

T = TypeVar("T")
Job = Callable[[Connection], T]


class JobRunner(Protocol):
    """Runs ``job(connection)`` in a transaction and returns its value."""

    async def run(self, job: Job[T]) -> T: ...


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs besides the records: this deployment's settings."""

    rdns_zone: str  # the default reverse-DNS zone
    infrastructure_domain: str = "katapult-ipam.invalid"  # under which sub-domains are


class Call:
    """One request as its action sees it."""

    __slots__ = ("_reads", "_writes", "identity", "operation", "render", "request_id")

    def __init__(
        self,
        identity: Identity,
        request_id: str,
        *,
        render: RenderContext,
        writes: JobRunner,
        reads: JobRunner,
        operation: str = "",
    ) -> None:
        self.identity = identity
        self.request_id = request_id
        self.operation = operation  # the endpoint's operation id
        self.render = render
        self._writes = writes
        self._reads = reads

    @property
    def actor(self) -> Actor:
        """The caller as actions and the audit log know it."""
        return Actor(
            type=self.identity.kind,
            id=self.identity.id,
            organization_ids=self.identity.organization_ids,
            request_id=self.request_id,
            operation=self.operation,
        )

    async def write(self, job: Job[T]) -> T:
        """Run ``job`` in a committed transaction (group commit, store/transactions.py)."""
        return await self._writes.run(job)

    async def read(self, job: Job[T]) -> T:
        """Run ``job`` in a read-only transaction beside the writer (store/reads.py)."""
        return await self._reads.run(job)
