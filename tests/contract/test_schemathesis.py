"""Schemathesis, used as a library, against the real server.

The cases come from our served document (``src/katapult_ipam/api/openapi.json``):
schemathesis generates positive and negative ones. Most of them then get a valid
bearer token and lookups drawn from the loaded inventory (real ids, FQDNs in any
case, addresses in several notations, the other organization's objects, things
that exist nowhere), in the body, the query string or the path segment, so the
deep paths answer (200, 404, 406, 422) and not only the authenticator. Every
response goes through schemathesis' checks, through the production wire format
(``wire-facts.md``) and, where the request names known objects, through a model of
the allocations; at the end the store must agree with that model.

Where the wire facts and the document disagree, the wire facts win; each place is
marked ``WIRE FACTS``.
"""

from __future__ import annotations

import collections
import hashlib
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import (  # the registry of built-in checks, by name
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core import NOT_SET
from sqlalchemy import Engine, func, select

from katapult_ipam.store import models as m
from tests.integration.server import ServerFactory
from tests.support.world import (
    ACME_EXPIRED_TOKEN,
    ACME_NO_SCOPE_TOKEN,
    ACME_TOKEN,
    GLOBEX_TOKEN,
    World,
)

pytestmark = pytest.mark.slow

DOCUMENT = Path(__file__).resolve().parents[2] / "src/katapult_ipam/api/openapi.json"
PATH = "/virtual_machines/virtual_machine/allocate_ip"  # the document's path: no parameter
MAX_EXAMPLES = 300

# WIRE FACTS: argument errors are 400s the document's 400 response does not list
# (its schema allows only `missing_api_token`).
ARGUMENT_ERRORS = frozenset({"invalid_argument", "missing_required_argument", "invalid_json_body"})
# What the document's 400 schema would be if it listed them; nothing else is relaxed.
DOCUMENTED_400_CODES = frozenset({"missing_api_token"})
# The lookups' "only one can be provided" rule is in the document's prose, not its
# schema; the wire facts add that an empty lookup is `missing_lookup_value`.
LOOKUP_RULE_ISSUES = frozenset({"ambiguous_lookup_values", "missing_lookup_value"})
ARGUMENT_NAMES = ("virtual_machine[", "ip_address[")
RATE_LIMIT = 1000  # the default, requests per identity (or client address) and minute
CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type",
}


def fresh_connections() -> requests.Session:
    """A session that opens a connection per request: a kept-alive one may be closed by
    the server's idle timeout just as the next request goes out (a busy machine makes
    gaps of seconds between Hypothesis' cases), which would look like a server fault."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


# -- the schema --------------------------------------------------------------------


def load_schema() -> Any:
    # An explicit configuration, so no schemathesis.toml found on the way up changes the run.
    config = schemathesis.Config.from_dict(
        {
            "checks": {
                # 406 (object in trash) and 422 (already allocated, no interface) are the
                # document's own answers to well-formed requests whose objects are in the
                # wrong state; schemathesis' default list of acceptable refusals lacks them.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "401", "403", "404", "406", "422", "429"]
                },
            }
        }
    )
    return schemathesis.openapi.from_path(DOCUMENT, config=config)


# -- the inventory, as lookups -----------------------------------------------------


@dataclass(frozen=True)
class VM:
    id: str
    fqdn: str
    organization_id: str
    in_trash: bool
    networks: frozenset[str]


@dataclass(frozen=True)
class IP:
    id: str
    address: str
    organization_id: str
    network_id: str


@dataclass(frozen=True)
class Target:
    """A lookup as sent, and what it names in the store (None: nothing)."""

    lookup: dict[str, Any]  # str values; Any as a JSON body wants it
    vm: VM | None = None
    ip: IP | None = None


@dataclass(frozen=True)
class Inventory:
    organization_of_token: dict[str, str]
    vms: list[Target]
    ips: list[Target]
    allocated: dict[str, str]  # IP id -> VM id, as loaded


def read_inventory(engine: Engine) -> Inventory:
    with engine.connect() as c:
        orgs = dict(c.execute(select(m.Organization.sub_domain, m.Organization.id)).all())
        nics: dict[str, set[str]] = collections.defaultdict(set)
        for vm_id, network_id in c.execute(
            select(m.NetworkInterface.virtual_machine_id, m.NetworkInterface.network_id)
        ):
            nics[vm_id].add(network_id)
        vms = [
            VM(row.id, row.fqdn, row.organization_id, row.trash_object_id is not None,
               frozenset(nics[row.id]))
            for row in c.execute(select(m.VirtualMachine.__table__))
        ]  # fmt: skip
        ip_rows = c.execute(select(m.IPAddress.__table__)).all()
    ips = [IP(r.id, r.address, r.organization_id, r.network_id) for r in ip_rows]
    # A fixed order (sorted here, not by a database's collation), so both databases give
    # the same draws the same objects; usable ones first, as Hypothesis favours the first
    # entries of a list it samples.
    acme = orgs["acme"]
    vms.sort(key=lambda vm: (vm.organization_id != acme, vm.in_trash, not vm.networks, vm.fqdn))
    ips.sort(key=lambda ip: (ip.organization_id != acme, ip.address))
    vm_targets = [Target({"id": vm.id}, vm=vm) for vm in vms]
    vm_targets += [Target({"fqdn": vm.fqdn}, vm=vm) for vm in vms]
    vm_targets += [Target({"fqdn": vm.fqdn.upper()}, vm=vm) for vm in vms]
    vm_targets += [Target({"id": "vm_doesNotExist0000"}), Target({"fqdn": "nope.example.net"})]
    ip_targets = [Target({"id": ip.id}, ip=ip) for ip in ips]
    ip_targets += [Target({"address": ip.address}, ip=ip) for ip in ips]
    ip_targets += [
        Target({"address": ipaddress.ip_address(ip.address).exploded.upper()}, ip=ip)
        for ip in ips
        if ":" in ip.address
    ]
    ip_targets += [
        Target({"id": "ip_doesNotExist0000"}),
        Target({"address": "192.0.2.200"}),
        Target({"address": "not-an-ip"}),
    ]
    return Inventory(
        organization_of_token={ACME_TOKEN: orgs["acme"], GLOBEX_TOKEN: orgs["globex"]},
        vms=vm_targets,
        ips=ip_targets,
        allocated={r.id: r.allocation_id for r in ip_rows if r.allocation_id is not None},
    )


# -- cases: schemathesis' own, then mostly pointed at the inventory -----------------

# Repeated entries weigh the draw: most cases carry the valid token.
TOKENS = [ACME_TOKEN] * 6 + [
    "generated",  # whatever schemathesis generated (random, or no header at all)
    "generated",
    None,  # no Authorization header
    ACME_NO_SCOPE_TOKEN,  # 403 scope_not_granted
    ACME_EXPIRED_TOKEN,  # 403 invalid_api_token
    GLOBEX_TOKEN,  # the other organization
]
TOKEN_NAMES = {
    ACME_TOKEN: "acme",
    ACME_NO_SCOPE_TOKEN: "no-scope",
    ACME_EXPIRED_TOKEN: "expired",
    GLOBEX_TOKEN: "globex",
    None: "none",
}
# Where the arguments come from. Repeated entries weigh the draw (Hypothesis also
# favours the first entry):
# - inventory: a body naming inventory lookups (or things that exist nowhere);
# - generated: schemathesis' body as it made it;
# - generated-one-key: its body with each lookup cut down to one known key, so that
#   its strings reach the database instead of an ambiguous-lookup 400;
# - inventory-vm / inventory-ip: its body with one lookup replaced;
# - query: both lookups in the query string, no body;
# - path: the VM in the path segment, the IP in the body.
BODIES = ["inventory"] * 4 + ["generated"] * 2 + ["generated-one-key"] * 2
BODIES += ["inventory-vm", "inventory-ip", "query", "path"]
LOOKUP_KEYS = ("id", "fqdn", "address")


def one_key(lookup: Any) -> Any:
    """A generated lookup cut down to the first key the server knows, if it has one."""
    if not isinstance(lookup, dict):
        return lookup
    for key in LOOKUP_KEYS:
        if key in lookup:
            return {key: lookup[key]}
    return lookup


@dataclass
class Intent:
    """What a case asks for: its token, and the objects it names when they are known."""

    token: str | None  # "generated": whatever schemathesis made
    vm: Target | None = None
    ip: Target | None = None


@dataclass
class Draw:
    case: Case[Any]
    intent: Intent
    kind: str  # how the case was made: "<body source>/<token source>"


def cases(operation: Any, inventory: Inventory) -> st.SearchStrategy[Draw]:
    generated = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @st.composite
    def draw(draw: Callable[..., Any]) -> Draw:
        case: Case[Any] = draw(generated)
        token = draw(st.sampled_from(TOKENS))
        body = draw(st.sampled_from(BODIES))
        vm: Target = draw(st.sampled_from(inventory.vms))
        ip: Target = draw(st.sampled_from(inventory.ips))
        if token is None:
            case.headers.pop("Authorization", None)
        elif token != "generated":
            case.headers["Authorization"] = f"Bearer {token}"
        intent = Intent(token)
        if body == "inventory":
            case.body = {"virtual_machine": vm.lookup, "ip_address": ip.lookup}
            intent = Intent(token, vm, ip)
        elif body == "generated-one-key" and isinstance(case.body, dict):
            # Generated lookups mostly name both keys (400 ambiguous_lookup_values); keeping
            # one takes the generated strings to the database.
            case.body = {name: one_key(value) for name, value in case.body.items()}
        elif body in ("inventory-vm", "inventory-ip"):
            key, target = ("virtual_machine", vm) if body == "inventory-vm" else ("ip_address", ip)
            case.body = {**(case.body if isinstance(case.body, dict) else {}), key: target.lookup}
        elif body == "query":
            # WIRE FACTS: arguments also come from the query string, nested keys.
            (vm_key, vm_value), (ip_key, ip_value) = (*vm.lookup.items(), *ip.lookup.items())
            case.query = {f"virtual_machine[{vm_key}]": vm_value, f"ip_address[{ip_key}]": ip_value}
            case.body = NOT_SET
            intent = Intent(token, vm, ip)
        elif body == "path":
            # WIRE FACTS: when the body names no virtual machine, the path segment is the
            # first key of its lookup, the id (so an FQDN there names nothing).
            segment = next(iter(vm.lookup.values()))
            case.path = PATH.replace("/virtual_machine/", f"/{segment}/")
            case.body = {"ip_address": ip.lookup}
            intent = Intent(token, vm if "id" in vm.lookup else Target({"id": segment}), ip)
        if isinstance(case.body, dict) and case.media_type is None:
            case.media_type = "application/json"
        # Reading `meta` revalidates the edited parts now, so the case is judged positive
        # or negative as sent; `call()` would take the edits as its starting state.
        assert case.meta is not None
        return Draw(case, intent, f"{body}/{TOKEN_NAMES.get(token, token)}")

    return draw()


# -- checks --------------------------------------------------------------------------


def error_of(response: Response) -> dict[str, Any] | None:
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def response_schema_conformance_with_argument_errors(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """schemathesis' ``response_schema_conformance``, except for the 400 argument errors.

    WIRE FACTS: production answers argument errors (``invalid_argument``,
    ``missing_required_argument``, ``invalid_json_body``) with 400, after authentication;
    the document's 400 schema lists only ``missing_api_token`` in its ``code`` enum. For
    those codes alone the body is held to the document's 400 schema with the enum widened
    (and to the wire facts' detail shapes), everything else to the document unchanged.
    """
    error = error_of(response)
    if response.status_code != 400 or error is None or error.get("code") not in ARGUMENT_ERRORS:
        checked: bool | None = response_schema_conformance(ctx, response, case)
        return checked
    body = response.json()
    # The document's 400 schema, `code` enum widened: code, description, detail (object).
    assert body["code"] in DOCUMENTED_400_CODES | ARGUMENT_ERRORS
    assert isinstance(body["description"], str)
    assert isinstance(body["detail"], dict)
    detail = body["detail"]
    if body["code"] == "invalid_json_body":
        assert set(detail) == {"details"}
        assert isinstance(detail["details"], str)
    elif body["code"] == "missing_required_argument":
        assert set(detail) == {"path", "argument"}
        name = detail["path"][0]
        assert body["description"] == f"The '{name}' argument is required but has not been provided"
        assert detail["argument"]["name"] == name
    else:
        assert set(detail) == {
            "path", "index", "issue", "issue_description", "errors", "argument",
        }  # fmt: skip
        assert body["description"] == f"The '{'.'.join(detail['path'])}' argument is invalid"
        assert detail["issue"] in {
            "missing_lookup_value", "ambiguous_lookup_values", "object_expected",
            "invalid_scalar", "parse_error", "invalid_enum_value",
        }  # fmt: skip
        assert set(detail["argument"]) == {"id", "name", "description"}
    return True


def positive_data_acceptance_with_lookup_rules(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """schemathesis' ``positive_data_acceptance``, knowing three 400s the schema cannot show.

    A case valid against the document's schema may still be refused with 400 when
    - it has no valid token (``missing_api_token``: credentials are not data; the document
      itself documents this 400);
    - a lookup names both keys or neither (``invalid_argument`` with
      ``ambiguous_lookup_values``/``missing_lookup_value``): "only one can be provided" is
      in the document's description of the lookups, not in their schema;
    - the body is JSON but not an object (``missing_required_argument``): the document's
      request schema has no ``type: object``, so ``[]`` or ``"x"`` are valid against it;
      WIRE FACTS: an array or scalar body is treated as ``{}``.
    Any other refusal of positive data stays a failure.
    """
    error = error_of(response)
    if response.status_code == 400 and error is not None:
        code = error.get("code")
        detail = error.get("detail") or {}
        if code == "missing_api_token":
            return None
        if code == "invalid_argument" and detail.get("issue") in LOOKUP_RULE_ISSUES:
            return None
        if code == "missing_required_argument" and not isinstance(case.body, dict):
            return None
    checked: bool | None = positive_data_acceptance(ctx, response, case)
    return checked


def negative_data_rejection_with_wire_arguments(
    ctx: CheckContext, response: Response, case: Case[Any]
) -> bool | None:
    """schemathesis' ``negative_data_rejection``, for arguments sent in the body only.

    WIRE FACTS: arguments also come from the query string (``ip_address[id]=...``) and,
    when the body names no virtual machine, from the path segment. The document knows
    only the body (its path is literal, its body requires both arguments), so a case that
    moves an argument out of the body looks negative to it while being well formed; such
    cases are judged by the model instead.
    """
    arguments_in_query = any(key.startswith(ARGUMENT_NAMES) for key in case.query or {})
    if arguments_in_query or case.path != PATH:
        return None
    checked: bool | None = negative_data_rejection(ctx, response, case)
    return checked


def wire_format(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """WIRE FACTS: headers and envelope production sends (beyond what the document says)."""
    headers = {name: values[-1] for name, values in response.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers.get("x-request-id")
    for name, value in CORS.items():
        assert headers.get(name) == value, name
    # Every request counts, errors included; this server runs with the default limit.
    assert headers["x-ratelimit-permitted"] == str(RATE_LIMIT)
    assert 0 <= int(headers["x-ratelimit-remaining"]) < RATE_LIMIT
    if response.status_code == 200:
        digest = hashlib.sha256(response.content).hexdigest()[:32]
        assert headers["etag"] == f'W/"{digest}"'
        assert headers["cache-control"] == "max-age=0, private, must-revalidate"
        assert "x-api-schema" not in headers
        ip = response.json()["ip_address"]
        assert ip["allocation_type"] == "VirtualMachine"
        assert ip["allocation_id"].startswith("vm_")
        return True
    body = response.json()
    # Both the production envelope and the document's flat fields, always equal. The
    # envelope is an extra property to the document's error schemas, which allow extra
    # properties (none sets `additionalProperties: false`), so `response_schema_conformance`
    # checks these bodies unchanged.
    assert body["error"] == {k: body[k] for k in ("code", "description", "detail")}
    assert set(body) == {"error", "code", "description", "detail"}
    assert headers["x-api-schema"] == "json-error"
    assert headers["cache-control"] == "no-cache"
    assert "etag" not in headers
    return True


def auth_is_enforced(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """In place of schemathesis' ``ignored_auth``: a 200 is not given without a valid token.

    ``ignored_auth`` wants 401 or 403 from the no-token probe; the document (and
    production) answer a missing token with 400 ``missing_api_token`` and a bad one with
    403 ``invalid_api_token``, which is what this probe expects. The probes change nothing.
    """
    if response.status_code != 200:
        return None
    request = response.request
    with fresh_connections() as session:
        session.trust_env = False  # never a proxy: 127.0.0.1 only
        for authorization, status, code in (
            (None, 400, "missing_api_token"),
            ("Bearer not-a-valid-token", 403, "invalid_api_token"),
        ):
            headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
            if authorization is not None:
                headers["Authorization"] = authorization
            probe = session.request(
                str(request.method), str(request.url), headers=headers, data=request.body,
                timeout=15,
            )  # fmt: skip
            got = (probe.status_code, probe.json()["error"]["code"])
            assert got == (status, code), probe.text
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance_with_argument_errors,
    positive_data_acceptance_with_lookup_rules,
    negative_data_rejection_with_wire_arguments,
    wire_format,
    auth_is_enforced,
]
# Not listed: `ignored_auth` (replaced by `auth_is_enforced`, see there);
# `missing_required_header`, `unsupported_method` (schemathesis' coverage phase only;
# WIRE FACTS: other methods answer 404 `route_not_found`, there is no 405, which
# tests/api covers); `use_after_free`, `ensure_resource_availability`,
# `object_level_authorization` (stateful runs over links the document does not
# declare; the other organization's objects are in the draws and the model instead);
# `max_response_time` (timing is the benchmarks' job).


# -- the model -----------------------------------------------------------------------


@dataclass
class Model:
    """The allocations the server confirmed, and the answer a named request must get."""

    inventory: Inventory
    allocated: dict[str, str] = field(default_factory=dict)  # IP id -> VM id
    confirmed: set[str] = field(default_factory=set)  # IP ids allocated through the API
    checked: int = 0  # answers compared with `expect`

    def expect(self, intent: Intent) -> tuple[int, str | None] | None:
        """The answer the server must give, or None when the case does not determine it."""
        # Authentication and the scope come before the arguments are read.
        if intent.token is None:
            return 400, "missing_api_token"
        if intent.token == ACME_EXPIRED_TOKEN:
            return 403, "invalid_api_token"
        if intent.token == ACME_NO_SCOPE_TOKEN:
            return 403, "scope_not_granted"
        if intent.token == "generated" or intent.vm is None or intent.ip is None:
            return None
        organization = self.inventory.organization_of_token[intent.token]
        vm, ip = intent.vm.vm, intent.ip.ip
        if vm is None or vm.organization_id != organization:
            return 404, "virtual_machine_not_found"
        if vm.in_trash:
            return 406, "object_in_trash"
        if ip is None or ip.organization_id != vm.organization_id:
            return 404, "ip_address_not_found"
        holder = self.allocated.get(ip.id)
        if holder == vm.id:
            return 200, None
        if holder is not None:
            return 422, "ip_already_allocated"
        if ip.network_id not in vm.networks:
            return 422, "no_interface_available"
        return 200, None

    def observe(self, intent: Intent, response: Response) -> None:
        error = error_of(response)
        expected = self.expect(intent)
        if expected is not None and response.status_code != 429:
            self.checked += 1
            got = (response.status_code, error.get("code") if error else None)
            assert got == expected, (
                f"{intent}: expected {expected}, got {got}: {response.content[:300]!r}"
            )
        if response.status_code == 200:
            ip = response.json()["ip_address"]
            holder = self.allocated.get(ip["id"])
            assert holder in (None, ip["allocation_id"]), f"{ip['id']} allocated twice"
            if holder is None:
                self.confirmed.add(ip["id"])
            self.allocated[ip["id"]] = ip["allocation_id"]


# -- the test ------------------------------------------------------------------------


@pytest.fixture
def no_local_constants(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hypothesis draws from its own constants only, not from the modules loaded so far.

    Hypothesis sometimes draws a constant found in the source of "local"
    modules (any module outside site-packages and the stdlib, test files excepted)
    that are in ``sys.modules`` when a case is generated: integers, floats, strings,
    bytes. Which modules those are depends on what ran before in this process
    (src modules other tests imported, the client test_generated_client.py generates
    into a temporary folder and imports), so ``derandomize=True`` gave different cases
    in a different test order: the sampled inventory indexes and the generated strings
    moved, and a whole run could miss ``ip_address_not_found``. An empty local pool
    makes the cases a function of the seed alone. Private API: if Hypothesis renames
    it, ``setattr`` fails here rather than the test going order-dependent again.
    """
    from hypothesis.internal.conjecture import providers
    from hypothesis.internal.constants_ast import Constants

    monkeypatch.setattr(providers, "_get_local_constants", Constants)
    providers.CONSTANTS_CACHE.cache.clear()  # it holds the pool's constants per draw kind
    yield
    providers.CONSTANTS_CACHE.cache.clear()


@pytest.mark.usefixtures("no_local_constants")
def test_the_server_honours_the_document(
    start_server: ServerFactory,
    world: World,
    engine: Engine,
    record_property: Callable[[str, object], None],
) -> None:
    server = start_server(workers=1)
    base_url = f"http://127.0.0.1:{server.port}/core/v1"
    operation = load_schema()[PATH]["POST"]
    inventory = read_inventory(engine)
    model = Model(inventory, allocated=dict(inventory.allocated))
    outcomes: collections.Counter[tuple[int, str | None]] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    session = fresh_connections()
    session.trust_env = False  # never a proxy: 127.0.0.1 only

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,  # the same cases on every run and machine
        database=None,
        deadline=None,
        # The server's state changes with every allocation, so a failing case cannot be
        # replayed against the state it failed in: report it as found, do not shrink.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(drawn=cases(operation, inventory))
    def one(drawn: Draw) -> None:
        case = drawn.case
        response = case.call(base_url=base_url, session=session, timeout=15)
        error = error_of(response)
        outcomes[(response.status_code, error.get("code") if error else None)] += 1
        kinds[drawn.kind] += 1
        case.validate_response(response, checks=CHECKS)
        model.observe(drawn.intent, response)

    try:
        one()
    finally:
        session.close()
        report(base_url, outcomes, kinds, model)
        record_property("schemathesis_cases", sum(outcomes.values()))

    reached = {status for status, _ in outcomes}
    assert {200, 400, 403, 404, 406, 422} <= reached, outcomes
    codes = {code for _, code in outcomes}
    assert {
        "missing_api_token", "invalid_api_token", "scope_not_granted", "invalid_argument",
        "virtual_machine_not_found", "ip_address_not_found", "object_in_trash",
        "ip_already_allocated", "no_interface_available",
    } <= codes, outcomes  # fmt: skip
    assert_store_consistent(engine, model)


def report(
    base_url: str,
    outcomes: collections.Counter[tuple[int, str | None]],
    kinds: collections.Counter[str],
    model: Model,
) -> None:
    """What ran, for the log (``-s`` shows it)."""
    print(f"\nschemathesis: {sum(outcomes.values())} cases against {base_url}")
    for (status, code), count in sorted(outcomes.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        print(f"  {status} {code or '':<28} {count}")
    print(f"  answers checked against the model: {model.checked}")
    print("  cases by body/token source:")
    for kind, count in sorted(kinds.items()):
        print(f"    {kind:<28} {count}")


def assert_store_consistent(engine: Engine, model: Model) -> None:
    """Every IP allocated at most once, and each API allocation audited exactly once."""
    ip = m.IPAddress.__table__
    event = m.AllocationEvent.__table__
    with engine.connect() as c:
        allocated = dict(
            c.execute(
                select(ip.c.id, ip.c.allocation_id).where(ip.c.allocation_id.is_not(None))
            ).all()
        )
        events = c.execute(
            select(event.c.ip_address_id, event.c.virtual_machine_id, event.c.action)
        ).all()
        per_ip: dict[str, int] = dict(
            c.execute(
                select(event.c.ip_address_id, func.count()).group_by(event.c.ip_address_id)
            ).all()
        )
    # The store holds exactly the allocations the server confirmed (and the loaded ones).
    assert allocated == model.allocated
    # One `allocate` event per IP allocated through the API, naming its VM; none else.
    assert all(action == "allocate" for _, _, action in events)
    assert len(events) == len(model.confirmed)
    assert {ip_id: vm_id for ip_id, vm_id, _ in events} == {
        ip_id: allocated[ip_id] for ip_id in model.confirmed
    }
    assert all(count == 1 for count in per_ip.values())
