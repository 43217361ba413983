"""What an action gets: the caller as an actor, a write, a read and the render context."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from katapult_ipam.api.context import Call, RenderContext
from katapult_ipam.auth.identity import Identity
from katapult_ipam.domain.actors import Actor

IDENTITY = Identity(
    organization_ids=frozenset({"org_1"}),
    scopes=frozenset({"ip_addresses"}),
    kind="APIToken",
    id="tok_1",
)


class Runner:
    """Hands each job a connection named after the runner, and remembers the jobs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.jobs: list[Any] = []

    async def run(self, job: Callable[[Any], Any]) -> Any:
        self.jobs.append(job)
        return job(self.name)


def call(writes: Runner, reads: Runner) -> Call:
    render = RenderContext(rdns_zone="in-addr.test")
    return Call(IDENTITY, "req-1", render=render, writes=writes, reads=reads)


def test_the_actor_is_the_identity_with_the_request_id() -> None:
    assert call(Runner("w"), Runner("r")).actor == Actor(
        type="APIToken", id="tok_1", organization_ids=frozenset({"org_1"}), request_id="req-1"
    )


def test_writes_and_reads_go_to_their_own_runners() -> None:
    writes, reads = Runner("writer"), Runner("reader")
    the_call = call(writes, reads)

    def job(connection: Any) -> str:
        return f"ran on {connection}"

    assert asyncio.run(the_call.write(job)) == "ran on writer"
    assert asyncio.run(the_call.read(job)) == "ran on reader"
    assert writes.jobs == [job]
    assert reads.jobs == [job]


def test_the_call_gives_the_render_context_and_nothing_of_the_process() -> None:
    the_call = call(Runner("w"), Runner("r"))
    assert the_call.render.rdns_zone == "in-addr.test"
    public = {name for name in dir(the_call) if not name.startswith("_")}
    assert public == {"actor", "identity", "operation", "read", "render", "request_id", "write"}
