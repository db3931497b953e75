"""The OpenSearch API specification as a strict request validator.

Loads ``../shared/opensearch-api-spec/spec`` (OpenAPI 3.1, so JSON Schema
2020-12), resolves ``$ref``s across files with ``referencing``, and validates with
``jsonschema``.

The spec is permissive: almost no object says ``additionalProperties: false``,
so a misspelled key would pass. To make misspelled or misplaced fields fail,
:func:`close_objects` adds ``unevaluatedProperties: false`` to every object
schema that lists ``properties`` (or combines parts with ``allOf``) and does not
already say what extra keys may be. Objects used as parts of an ``allOf`` stay
open, and their combining parent is closed instead (``unevaluatedProperties``
sees through ``allOf``). Maps (``additionalProperties: {...}``: field names,
``_meta``, ``ext``, the ``metadata`` values) stay open, as OpenSearch allows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urljoin

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_ROOT = Path(os.environ.get("OPENSEARCH_API_SPEC", Path(__file__).resolve().parents[5] / "shared" / "opensearch-api-spec"))
BASE = "file:///spec/"
#: Keywords that already decide what extra keys an object may have.
OPEN_KEYWORDS = ("additionalProperties", "patternProperties", "unevaluatedProperties")
#: Keywords whose value is one subschema / a list of them / a map of them.
ONE = ("additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames", "unevaluatedItems")
MANY = ("allOf", "anyOf", "oneOf", "prefixItems")
MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def require_spec() -> Path:
    """The spec folder; missing is a failure in CI and a skip locally."""
    if not (SPEC_ROOT / "spec" / "namespaces" / "_core.yaml").is_file():
        message = f"OpenSearch API spec not found at {SPEC_ROOT} (set OPENSEARCH_API_SPEC)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SPEC_ROOT


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the spec."""

    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]
    file: str


class ApiSpec:
    """Operations by path, and a strict validator for any schema in the spec."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.documents: dict[str, Any] = {}
        for path in sorted((root / "spec").rglob("*.yaml")):
            uri = BASE + path.relative_to(root / "spec").as_posix()
            self.documents[uri] = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        fill_spec_gaps(self.documents)
        self.dispatched = dispatch_discriminators(self.documents)
        self.closed = close_objects(self.documents)
        self.registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT202012)) for uri, doc in self.documents.items()
        )
        self._validators: dict[str, Draft202012Validator] = {}

    # ------------------------------------------------------------ operations
    @cached_property
    def operations(self) -> list[Operation]:
        ops = []
        for uri, doc in self.documents.items():
            if not uri.startswith(BASE + "namespaces/"):
                continue
            for template, item in (doc.get("paths") or {}).items():
                regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
                for method, spec in item.items():
                    if method in ("get", "put", "post", "delete", "head"):
                        ops.append(Operation(method.upper(), template, re.compile(regex), spec, uri))
        # Literal segments beat parameters: /_search/pipeline/x is not /{index}/_search/x.
        ops.sort(key=lambda op: (op.template.count("{"), -len(op.template)))
        return ops

    def operation(self, method: str, path: str) -> Operation | None:
        for op in self.operations:
            if op.method == method and op.pattern.match(path):
                return op
        return None

    def query_params(self, op: Operation) -> set[str]:
        names = set()
        for param in op.spec.get("parameters", []):
            resolved = self.resolve(param["$ref"], op.file) if "$ref" in param else param
            if resolved.get("in") == "query":
                names.add(resolved["name"])
        globals_ = self.documents.get(BASE + "_global_parameters.yaml", {})
        names.update(p["name"] for p in globals_.get("components", {}).get("parameters", {}).values())
        return names

    def body_schema_ref(self, op: Operation) -> str | None:
        """``uri#pointer`` of the operation's request body schema."""
        body = op.spec.get("requestBody")
        if body is None:
            return None
        ref = urljoin(op.file, body["$ref"]) if "$ref" in body else None
        node = self.resolve(body["$ref"], op.file) if ref else body
        base = ref or op.file + "#"
        (content_type,) = list(node["content"])[:1]
        return f"{base}/content/{content_type.replace('/', '~1')}/schema"

    def resolve(self, ref: str, base: str) -> Any:
        full = urljoin(base, ref)
        uri, _, pointer = full.partition("#")
        node = self.documents[uri]
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    # ------------------------------------------------------------ validation
    def validator(self, ref: str) -> Draft202012Validator:
        """A validator for the schema at ``ref`` (``uri#pointer``, or a ``_common`` short name)."""
        if ref not in self._validators:
            self._validators[ref] = Draft202012Validator({"$ref": ref}, registry=self.registry)
        return self._validators[ref]

    def errors(self, ref: str, instance: Any) -> list[str]:
        """Every violation of ``instance`` against the schema at ``ref``, readable."""
        found = []
        for error in self.validator(ref).iter_errors(instance):
            found.extend(_describe(error))
        return found

    def schema(self, file: str, name: str) -> str:
        """``uri#pointer`` of ``components/schemas/<name>`` in ``schemas/<file>.yaml``."""
        return f"{BASE}schemas/{file}.yaml#/components/schemas/{name}"


def _describe(error: Any) -> list[str]:
    """The deepest, most specific messages of a (possibly composite) error."""
    if error.context:
        # For oneOf/anyOf, report the branch that got furthest (longest path),
        # skipping branches that merely have another ``type``.
        relevant = [e for e in error.context if not (e.validator in ("enum", "const", "type") and len(e.relative_path) <= 1)]
        best = max(relevant or error.context, key=lambda e: (len(e.absolute_path), -len(e.context or [])))
        deeper = _describe(best)
        if deeper:
            return deeper
    location = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return [f"{location}: {error.message}"]


# ------------------------------------------------------------ discriminators
def fill_spec_gaps(documents: dict[str, Any]) -> None:
    """Add what OpenSearch accepts but the spec does not describe (yet).

    ``ScoreRankerCombination`` lists only ``technique`` and ``rank_constant``;
    neural-search's RRFProcessorFactory also reads ``combination.parameters``:
    ``rank_constant`` there in 2.19–3.0, ``weights`` there from 3.1 (tags
    2.19.0.0 and 3.1.0.0). The stub decides per release which it honours.
    """
    schemas = documents[BASE + "schemas/search_pipeline._common.yaml"]["components"]["schemas"]
    schemas["ScoreRankerCombination"]["properties"]["parameters"] = {
        "type": "object",
        "properties": {
            "rank_constant": {"type": "integer", "minimum": 1},
            "weights": {"type": "array", "items": {"type": "number"}},
        },
    }


def dispatch_discriminators(documents: dict[str, Any]) -> int:
    """Turn ``discriminator`` + ``oneOf`` into ``if``/``then`` on the tag value.

    Mapping properties are a ``oneOf`` of ~60 types; trying every branch is slow
    and reports the wrong branch's complaint. Dispatching on ``type`` (as
    OpenSearch does) is fast and names the real mistake. Returns how many.
    """
    changed = 0
    for uri, node in list(_schema_nodes(documents)):
        tag = (node.get("discriminator") or {}).get("propertyName")
        branches = node.get("oneOf")
        if not tag or not isinstance(branches, list) or not all("$ref" in b for b in branches):
            continue
        by_value: dict[Any, list[str]] = {}
        for branch in branches:
            target = urljoin(uri, branch["$ref"])
            for value in _tag_values(documents, target, tag):
                by_value.setdefault(value, []).append(target)
        default = (node.get("discriminator") or {}).get("x-default")
        rules: list[dict[str, Any]] = []
        for value, targets in by_value.items():
            then = {"$ref": targets[0]} if len(targets) == 1 else {"anyOf": [{"$ref": t} for t in targets]}
            rules.append({"if": {"properties": {tag: {"const": value}}, "required": [tag], "x-dispatched": True}, "then": then})
        if default in by_value:
            rules.append({"if": {"not": {"required": [tag]}}, "then": {"$ref": by_value[default][0]}})
        rules.append({"properties": {tag: {"enum": list(by_value)}}, "x-dispatched": True})
        del node["oneOf"]
        node["allOf"] = node.get("allOf", []) + rules
        node["x-dispatched"] = True  # the chosen branch is closed; this wrapper stays open
        changed += 1
    return changed


def _tag_values(documents: dict[str, Any], target: str, tag: str) -> list[Any]:
    uri, _, pointer = target.partition("#")
    node: Any = documents[uri]
    for part in pointer.strip("/").split("/"):
        node = node[part]
    stack = [(uri, node)]
    while stack:
        base, current = stack.pop()
        prop = (current.get("properties") or {}).get(tag)
        if isinstance(prop, dict) and ("enum" in prop or "const" in prop):
            return list(prop.get("enum", [prop.get("const")]))
        for part in current.get("allOf", []):
            if "$ref" in part:
                ref = urljoin(base, part["$ref"])
                ref_uri, _, ref_pointer = ref.partition("#")
                sub: Any = documents[ref_uri]
                for piece in ref_pointer.strip("/").split("/"):
                    sub = sub[piece]
                stack.append((ref_uri, sub))
            else:
                stack.append((base, part))
    return []


# --------------------------------------------------------------------- closing
def close_objects(documents: dict[str, Any]) -> int:
    """Make object schemas reject unknown keys (see the module docstring); returns how many."""
    members: set[int] = set()
    member_refs: set[str] = set()
    for uri, node in _schema_nodes(documents):
        for part in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
            if isinstance(part, dict):
                members.add(id(part))
                if "$ref" in part:
                    member_refs.add(urljoin(uri, part["$ref"]))
    located = {id(node): loc for loc, node in _located_nodes(documents)}
    closed = 0
    for uri, node in _schema_nodes(documents):
        if not ("properties" in node or "allOf" in node):
            continue
        if any(k in node for k in OPEN_KEYWORDS) or id(node) in members or node.get("x-dispatched"):
            continue
        if located.get(id(node)) in member_refs:
            continue
        if node.get("type") not in (None, "object") and not (isinstance(node.get("type"), list) and "object" in node["type"]):
            continue
        node["unevaluatedProperties"] = False
        closed += 1
    return closed


def _entry_points(documents: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    for uri, doc in documents.items():
        components = (doc or {}).get("components") or {}
        for name, schema in (components.get("schemas") or {}).items():
            yield uri, f"/components/schemas/{name}", schema
        for name, body in (components.get("requestBodies") or {}).items():
            for ctype, content in (body.get("content") or {}).items():
                if "schema" in content:
                    yield uri, f"/components/requestBodies/{name}/content/{ctype.replace('/', '~1')}/schema", content["schema"]


def _walk(node: Any) -> Iterator[Any]:
    if not isinstance(node, dict):
        return
    yield node
    for key in ONE:
        if isinstance(node.get(key), dict):
            yield from _walk(node[key])
    for key in MANY:
        if isinstance(node.get(key), list):
            for part in node[key]:
                yield from _walk(part)
    for key in MAP:
        if isinstance(node.get(key), dict):
            for sub in node[key].values():
                yield from _walk(sub)


def _schema_nodes(documents: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    seen: set[int] = set()
    for uri, _, schema in _entry_points(documents):
        for node in _walk(schema):
            if id(node) not in seen:
                seen.add(id(node))
                yield uri, node


def _located_nodes(documents: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Top-level component schemas with their ``uri#pointer`` (what ``$ref``s name)."""
    for uri, pointer, schema in _entry_points(documents):
        yield f"{uri}#{pointer}", schema
