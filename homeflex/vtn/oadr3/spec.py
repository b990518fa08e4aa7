"""The OpenADR 3.1 OpenAPI document (openadr3.yaml, a byte copy of grid-coordination/openadr3-specification
3.1.1, Apache-2.0) as JSON Schema validators per operation, and the OAuth2 scope each operation needs.

OpenAPI 3.0 schemas are JSON Schema draft 4 plus `nullable`, so `nullable` becomes a null alternative and
the rest is validated by jsonschema-rs. One fix is applied, and only to what the VTN *serves*: `ven` and
`resource` are `allOf` objectMetadata (objectType VEN/RESOURCE) and the BL request (objectType
BL_VEN_REQUEST/BL_RESOURCE_REQUEST), which no object can satisfy; the served objects carry VEN/RESOURCE.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import yaml

SPEC_FILE = "openadr3.yaml"
METHODS = ("get", "put", "post", "delete")
_DROP = {"discriminator", "example", "xml", "externalDocs"}


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema draft 4 with refs into #/definitions."""
    if isinstance(node, list):
        return [json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: json_schema(v) for k, v in node.items() if k not in _DROP and k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str  # as in the document, e.g. /events/{eventID}; aiohttp uses the same template syntax
    scopes: tuple[str, ...]  # any one of them grants access; () = no token needed
    request: dict[str, Any] | None
    responses: dict[int, dict[str, Any] | None] = field(default_factory=dict)


class OpenApi:
    """Validators for requests and responses of each operation in the document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        definitions = json_schema(document["components"]["schemas"])
        for name, meta_type in (("ven", "BlVenRequest"), ("resource", "BlResourceRequest")):
            body = copy.deepcopy(definitions[meta_type])
            body["properties"].pop("objectType")
            body["required"] = [r for r in body["required"] if r != "objectType"]
            definitions[name] = {"type": "object", "allOf": [{"$ref": "#/definitions/objectMetadata"}, body]}
        self.definitions = definitions
        self.operations: dict[tuple[str, str], Operation] = {}
        for path, item in document["paths"].items():
            for method in METHODS:
                if method in item:
                    self.operations[(method.upper(), path)] = self._operation(
                        method.upper(), path, item[method]
                    )
        self._validators: dict[str, jsonschema_rs.Draft4Validator] = {}

    def _content_schema(self, node: dict[str, Any] | None) -> dict[str, Any] | None:
        if node is None:
            return None
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.document["components"]["responses"][name]
        content = node.get("content") or {}
        for media in ("application/json", "application/x-www-form-urlencoded"):
            if media in content:
                return json_schema(content[media]["schema"])
        return None

    def _operation(self, method: str, path: str, op: dict[str, Any]) -> Operation:
        scopes: list[str] = []
        for requirement in op.get("security") or []:
            scopes.extend(requirement.get("oAuth2ClientCredentials") or [])
        return Operation(
            method=method,
            path=path,
            scopes=tuple(scopes),
            request=self._content_schema(op.get("requestBody")),
            responses={int(code): self._content_schema(r) for code, r in op["responses"].items()},
        )

    def _validator(self, key: str, schema: dict[str, Any]) -> jsonschema_rs.Draft4Validator:
        if key not in self._validators:
            self._validators[key] = jsonschema_rs.Draft4Validator(
                {**schema, "definitions": self.definitions}, validate_formats=True
            )
        return self._validators[key]

    def schema_errors(self, schema_name: str, instance: Any) -> list[str]:
        """Errors of `instance` against components/schemas/<schema_name>."""
        return _errors(self._validator(schema_name, {"$ref": f"#/definitions/{schema_name}"}), instance)

    def request_errors(self, method: str, path: str, body: Any) -> list[str]:
        op = self.operations[(method, path)]
        if op.request is None:
            return []
        return _errors(self._validator(f"{method} {path} request", op.request), body)

    def response_errors(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Why a response does not conform: an undocumented status, or its body against the schema."""
        op = self.operations.get((method, path))
        if op is None:
            return [f"{method} {path} is not in the document"]
        if status not in op.responses:
            return [f"{method} {path}: status {status} is not documented (only {sorted(op.responses)})"]
        schema = op.responses[status]
        if schema is None:
            return []
        return _errors(self._validator(f"{method} {path} {status}", schema), body)


def _errors(validator: jsonschema_rs.Draft4Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in e.instance_path) or '(root)'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


@cache
def openapi() -> OpenApi:
    """The document shipped with the package, parsed once per process."""
    text = (resources.files("homeflex.vtn.oadr3") / SPEC_FILE).read_text()
    return OpenApi(yaml.safe_load(text))
