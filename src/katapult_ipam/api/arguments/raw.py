"""Raw arguments: the query string, the JSON body and how they merge.

Raw arguments are the query string (``ip_address[id]=ip_x``) deep-merged with
the JSON body (the body wins); when the body is not JSON, a ``_arguments``
parameter holding JSON takes its place. Each rule follows Apia's source
(``lib/apia/request.rb``) and Rack's query parser; README "Fidelity decisions".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from katapult_ipam.api.errors import INVALID_JSON_BODY


def parse_query_string(query: bytes | str) -> dict[str, Any]:
    """Rack-style nested parameters: ``a[b]=1&c[]=2`` -> ``{"a": {"b": "1"}, "c": ["2"]}``.

    ``query`` is the raw query string (ASGI's ``query_string`` bytes; text is taken as
    UTF-8). As Rack reads it (``query_parser.rb`` ``each_query_pair``, ``unescape``):
    pairs split on ``&``; ``+`` and ``%XX`` decoded to bytes, and the bytes read as
    UTF-8, so raw UTF-8 and its percent-encoding give the same text; a name without
    ``=`` has the value ``None`` (Rack's ``nil``). Rack keeps invalid UTF-8 as broken
    text; here it becomes U+FFFD, which names nothing. A malformed escape (``%zz``)
    stays as it is, where Rack raises (a 500 in Apia).
    """
    raw = query.encode() if isinstance(query, str) else query
    result: dict[str, Any] = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, equals, value = pair.partition(b"=")
        keys = _split_key(_unescape(name))
        if keys:
            _assign(result, keys, _unescape(value) if equals else None)
    return result


def _unescape(text: bytes) -> str:
    return unquote_to_bytes(text.replace(b"+", b" ")).decode("utf-8", "replace")


_KEY = re.compile(r"\A([^\[\]]+)((?:\[[^\[\]]*\])*)\Z")
_SUBKEY = re.compile(r"\[([^\[\]]*)\]")


def _split_key(name: str) -> list[str]:
    match = _KEY.match(name)
    if match is None:
        return [name] if name else []
    return [match.group(1), *_SUBKEY.findall(match.group(2))]


# Deeper query keys name no argument of ours (Rack's own limit is 32 as well);
# keeping them out also bounds the recursion of the deep merge with the body.
MAX_QUERY_DEPTH = 32


def _assign(target: dict[str, Any], keys: list[str], value: str | None) -> None:
    if len(keys) > MAX_QUERY_DEPTH:
        return
    if "" in keys[:-1]:
        _assign_in_array(target, keys, value)
        return
    is_array = keys[-1] == ""  # ``a[]=1&a[]=2`` -> {"a": ["1", "2"]}, as Rack parses it
    path = keys[:-1] if is_array else keys
    node = target
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    if not is_array:
        node[path[-1]] = value
        return
    items = node.get(path[-1])
    if not isinstance(items, list):
        items = []
        node[path[-1]] = items
    items.append(value)


def _assign_in_array(target: dict[str, Any], keys: list[str], value: str | None) -> None:
    """An array of objects, as Rack builds it: ``a[][k]=1&a[][v]=2&a[][k]=3`` ->
    ``{"a": [{"k": "1", "v": "2"}, {"k": "3"}]}``: a key the last object already has
    starts a new one. One level (``a[][k]``, ``a[b][][k]``); deeper ones name nothing."""
    position = keys.index("")
    head, tail = keys[:position], keys[position + 1 :]
    if "" in tail or len(tail) != 1:
        return
    node = target
    for key in head[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    items = node.get(head[-1])
    if not isinstance(items, list):
        items = []
        node[head[-1]] = items
    if not items or not isinstance(items[-1], dict) or tail[0] in items[-1]:
        items.append({})
    items[-1][tail[0]] = value


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base``; nested mappings merge, other values replace."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def parse_json_arguments(text: bytes | str) -> dict[str, Any]:
    """A JSON text read as arguments, as Apia reads a JSON body or ``_arguments``.

    Empty: no arguments. Anything else must parse, whitespace alone included (Ruby's
    ``JSON.parse("  ")`` raises, so Apia answers ``invalid_json_body``). An array or a
    scalar adds nothing (``request.rb`` ``parse_json_from_string``).
    """
    if not text:
        return {}
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise INVALID_JSON_BODY({"details": str(error)}) from error
    return parsed if isinstance(parsed, dict) else {}


def arguments_parameter(query: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments in a ``_arguments`` parameter holding JSON, for a body that is not JSON.

    Apia reads it in place of the body (``request.rb`` ``get_json_body_from_params``),
    then merges it over the parameters as it would the body. Only a string counts: a
    bare ``_arguments`` or ``_arguments[x]=...`` adds nothing.
    """
    value = query.get("_arguments")
    return parse_json_arguments(value) if isinstance(value, str) else {}


def is_json_content_type(content_type: str) -> bool:
    """Whether a body with this Content-Type is read as JSON arguments.

    The types Apia reads (request.rb, since 3.8.0): application/json or a vendor type
    with a +json suffix, parameters allowed. Unlike Apia, which matches a prefix with
    case, the media type is compared whole and, as RFC 9110 says, without regard to
    case: ``Application/JSON`` is JSON, ``application/jsonx`` is not.
    """
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json":
        return True
    subtype = media_type.removeprefix("application/")
    return subtype != media_type and subtype.endswith("+json") and len(subtype) > len("+json")
