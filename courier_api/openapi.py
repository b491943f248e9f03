"""The OpenAPI document, as strict as the msgspec structs the handlers decode and encode.

Litestar's own translation of a struct drops much of what msgspec enforces: tuple lengths
(`dimensionsMm`), `minProperties` on `cities`, constraints inside unions and on array items, key
patterns, and `forbid_unknown_fields`. A client generated from that document, or schemathesis,
then sends bodies the document calls valid and the server refuses. So every component schema is
replaced by msgspec's own JSON Schema of the same type (`msgspec.json.schema_components`), which is
what the decoder enforces by construction and cannot drift from the structs: a changed constraint
changes both at once. Structs that ignore unknown fields (`WireStruct`: mobile and upstream bodies,
for rolling upgrades) stay open; `forbid_unknown_fields` ones (policy documents) become
`additionalProperties: false`, because msgspec says so.

The one translation: patterns. msgspec matches with Python's `re`; OpenAPI 3.1 patterns are
ECMA-262, which has no `\\A` or `\\Z` (see `ecma_pattern`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Components, OpenAPI, Operation, Parameter, Schema
from litestar.response import Response
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

REF_TEMPLATE = "#/components/schemas/{name}"


def ecma_pattern(pattern: str) -> str:
    """The ECMA-262 form of a Python `re` pattern: `\\A` -> `^`, `\\Z` -> `$`.

    Our ids are matched with `\\A…\\Z` because Python's `$` also matches before a trailing newline
    ("ord-1\\n" would pass `^…$` under `re.search`). ECMA-262 has neither escape (`\\A` would be a
    literal "A", or a syntax error with the `u` flag), but there, without the multiline flag, `^` and
    `$` match only at the very start and end of the string: exactly `\\A` and `\\Z`. The server keeps
    its Python pattern and full-match check; only the document carries this form. Python's `^`/`$`
    patterns are left as they are: read as ECMA they are, if anything, stricter (no trailing newline).
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escaped = pattern[i + 1]
            out.append({"A": "^", "Z": "$"}.get(escaped, char + escaped))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def openapi_json_schema(schema: Any) -> Any:
    """A msgspec JSON Schema (2020-12, which OpenAPI 3.1 uses) with its patterns in ECMA-262 form."""
    if isinstance(schema, dict):
        return {
            key: ecma_pattern(value)
            if key == "pattern" and isinstance(value, str)
            else openapi_json_schema(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [openapi_json_schema(value) for value in schema]
    return schema


@dataclass
class JsonSchemaComponent(Schema):
    """A component schema given as the JSON Schema itself, written into the document unchanged.

    Litestar's `Schema` drops `None` values when serialised; msgspec's `"default": null` is kept.
    """

    document: dict[str, Any] = field(default_factory=dict)

    def to_schema(self) -> dict[str, Any]:
        return self.document


def wire_types(app: Litestar) -> list[Any]:
    """Every type a documented handler decodes from a JSON body or encodes into an answer."""
    types: list[Any] = []
    for handler in _documented_handlers(app):
        signature = handler.parsed_fn_signature
        if (data := signature.parameters.get("data")) is not None:
            types.append(data.annotation)
        types.append(_answer_type(signature.return_type))
        types.extend(spec.data_container for spec in (handler.responses or {}).values())
    return [t for t in types if t is not None]


def struct_schema_components(app: Litestar) -> dict[str, dict[str, Any]]:
    """msgspec's component schemas of every wire type, in the form the document carries them."""
    _, components = msgspec.json.schema_components(wire_types(app), ref_template=REF_TEMPLATE)
    return {name: openapi_json_schema(schema) for name, schema in components.items()}


def make_openapi_strict(app: Litestar) -> None:
    """Put msgspec's schemas into the app's OpenAPI document; call once the routes are final.

    Builds the document now (Litestar would on the first request for it). Fails at start-up, not in
    a client, when Litestar and msgspec disagree on which components exist: a component left with
    Litestar's looser schema would be exactly the drift this prevents.
    """
    openapi = app.openapi_schema
    components = struct_schema_components(app)
    litestar_schemas = (openapi.components or Components()).schemas or {}
    if set(components) != set(litestar_schemas):
        raise RuntimeError(
            "OpenAPI components differ from msgspec's: "
            f"only Litestar {sorted(set(litestar_schemas) - set(components))}, "
            f"only msgspec {sorted(set(components) - set(litestar_schemas))}"
        )
    openapi.components = Components(
        schemas={name: JsonSchemaComponent(document=schema) for name, schema in sorted(components.items())},
        security_schemes=openapi.components.security_schemes if openapi.components else None,
    )
    for parameter in _parameters(openapi):
        if isinstance(parameter.schema, Schema) and parameter.schema.pattern is not None:
            parameter.schema.pattern = ecma_pattern(parameter.schema.pattern)


def _documented_handlers(app: Litestar) -> Iterator[HTTPRouteHandler]:
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            yield from (h for h in route.route_handlers if h.resolve_include_in_schema())


def _answer_type(return_type: FieldDefinition) -> Any:
    """What the handler's answer body is made of: `X` for `-> X` and `-> Response[X]`, None for `-> None`."""
    if return_type.is_subclass_of(Response):
        return return_type.inner_types[0].annotation if return_type.inner_types else None
    return None if return_type.annotation is None or return_type.is_none_type else return_type.annotation


def _parameters(openapi: OpenAPI) -> Iterator[Parameter]:
    for path_item in (openapi.paths or {}).values():
        for operation in (getattr(path_item, method) for method in ("get", "put", "post", "delete", "patch")):
            if isinstance(operation, Operation):
                yield from (p for p in operation.parameters or [] if isinstance(p, Parameter))
