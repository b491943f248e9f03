"""The served OpenAPI document says exactly what the msgspec structs enforce, in ECMA-262 patterns.

Compared with msgspec's own `msgspec.json.schema` of each request body struct, so a changed constraint
cannot leave the document behind; and the patterns are run in both dialects (Python `re`, which the
server matches with, and the Rust/ECMA engine schemathesis and clients validate with) on the strings
where the two could differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from courier_api.params import ROW_ID_PATTERN
from infra.documents import ID_PATTERN, WireStruct

Client = AsyncTestClient[Litestar]
Document = dict[str, Any]


@pytest.fixture
async def document(client: Client) -> Document:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: Document = response.json()
    return document


def _request_bodies(app: Litestar) -> Iterator[tuple[str, str, Any]]:
    """(path, method, struct) of every documented operation that decodes a JSON body."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is not None and handler.resolve_include_in_schema():
                for method in handler.http_methods:
                    yield route.path_format, method.lower(), data.annotation


def _as_ecma(schema: Any) -> Any:
    """What the document must carry for a msgspec schema: `\\A`/`\\Z` written as ECMA's `^`/`$`."""
    if isinstance(schema, dict):
        return {
            k: v.replace(r"\A", "^").replace(r"\Z", "$") if k == "pattern" else _as_ecma(v)
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_as_ecma(v) for v in schema]
    return schema


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


async def test_every_request_body_is_msgspecs_own_schema(app: Litestar, document: Document) -> None:
    bodies = list(_request_bodies(app))
    assert len(bodies) == 11, bodies
    for path, method, struct in bodies:
        (body_ref,), components = msgspec.json.schema_components(
            [struct], ref_template="#/components/schemas/{name}"
        )
        body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert body == body_ref, (method, path)
        for name, schema in components.items():
            assert document["components"]["schemas"][name] == _as_ecma(schema), (method, path, name)


async def test_the_document_keeps_what_litestar_dropped(document: Document) -> None:
    schemas = document["components"]["schemas"]
    dimensions = schemas["Item"]["properties"]["dimensionsMm"]
    assert (dimensions["minItems"], dimensions["maxItems"], len(dimensions["prefixItems"])) == (3, 3, 3)
    assert dimensions["prefixItems"][0] == {"type": "integer", "exclusiveMinimum": 0, "maximum": 100_000}
    cities = schemas["Policy"]["properties"]["cities"]
    assert cities["minProperties"] == 1
    assert cities["propertyNames"] == {"pattern": r"^(\*|[A-Z]{3})$"}
    city_weight = schemas["CityRule"]["properties"]["maxItemWeightG"]["anyOf"][0]
    assert city_weight == {"type": "integer", "exclusiveMinimum": 0}
    assert schemas["Item"]["properties"]["attributes"]["items"]["minLength"] == 1
    public_key = schemas["DeviceEnrollment"]["properties"]["publicKey"]["anyOf"][0]
    assert public_key["pattern"] == "^[A-Za-z0-9+/]{43}=$"


async def test_unknown_fields_refused_only_where_the_struct_refuses_them(document: Document) -> None:
    schemas = document["components"]["schemas"]
    # Policy documents are written by people: a misspelt field must fail.
    for name in ("Policy", "CityRule"):
        assert schemas[name]["additionalProperties"] is False, name
    # Mobile and upstream bodies: a newer app or order system may send fields this server does not know.
    wire = {cls.__name__ for cls in _subclasses(WireStruct)}
    open_bodies = [name for name in schemas if name in wire]
    assert {"OrderSnapshot", "Item", "Customer", "DeviceEnrollment", "ClaimRequest"} <= set(open_bodies)
    for name in open_bodies:
        assert "additionalProperties" not in schemas[name], name


def _subclasses(cls: type[msgspec.Struct]) -> Iterator[type[msgspec.Struct]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# Strings on which Python's and ECMA's readings of a pattern could differ: trailing and leading newlines
# (Python's `$` matches before a final "\n"), the whitespace the two `\s` disagree on, dots-only ids.
PROBES = [
    "ord-1",
    "ord-1\n",
    "\nord-1",
    "ord-1\r\n",
    ".",
    "..",
    "a.b",
    "A",
    "1",
    "12",
    "0",
    "1_0",
    " 1",
    "a" * 64,
    "a" * 65,
    "",
    "a@b",
    "a@b\n",
    "a\x85@b",
    "a\ufeff@b",
    "a\x1c@b",
    "a b@c",
    "ä@ü",
]


async def test_python_patterns_are_given_as_equivalent_ecma_patterns(document: Document) -> None:
    documented = set(_patterns(document))
    assert documented, "no patterns in the document"
    assert not [p for p in documented if r"\A" in p or r"\Z" in p], "ECMA-262 has no \\A or \\Z"

    parameters = {
        p["name"]: p["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        for p in operation.get("parameters", [])
    }
    customer = document["components"]["schemas"]["Customer"]["properties"]
    for python, ecma in [
        (ID_PATTERN, parameters["order_id"]["pattern"]),
        (ID_PATTERN, customer["id"]["pattern"]),
        (ROW_ID_PATTERN, parameters["entry_id"]["pattern"]),
    ]:
        _assert_same_language(python, ecma)
    # The email's `\s` differs between the dialects; its explicit ranges close the gap. Only a trailing
    # newline still differs: `^…$` in Python takes it (the server's looseness), ECMA does not.
    email = customer["email"]["anyOf"][0]["pattern"]
    _assert_same_language(email, email, except_for={"a@b\n"})


def _assert_same_language(python: str, ecma: str, except_for: set[str] | None = None) -> None:
    validator = jsonschema_rs.validator_for({"type": "string", "pattern": ecma})
    for probe in PROBES:
        if probe in (except_for or set()):
            continue
        server = re.search(python, probe) is not None
        assert validator.is_valid(probe) == server, (python, ecma, probe, server)
