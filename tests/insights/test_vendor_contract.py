"""The compatible API against the vendor's own description (../shared/spec/vendor/directory-insights.swagger.json).

A small checker instead of schemathesis (not among the project's dependencies): for each of the
four query operations it takes the body schema, builds valid bodies from it (required fields
only, every property, and the bodies of the vendor's code samples with their placeholders
fixed), checks that each answers 200 with a body valid against the operation's response schema,
and that every property of the body schema is either supported or answered 400 naming it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from tests.insights.conftest import BASE

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[2]
SWAGGER = REPO_ROOT.parent / "shared/spec/vendor/directory-insights.swagger.json"
OPERATIONS = ["/events", "/events/count", "/events/distinct", "/events/interval"]
START, END = "2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"
# Values for the properties whose schema alone does not give a meaningful one.
GOOD_VALUES: dict[str, Any] = {
    "service": ["all"],
    "start_time": START,
    "end_time": END,
    "fields": ["timestamp", "event_type", "initiated_by.username"],
    "limit": 10,
    "sort": "asc",
    "search_after": ["2025-03-01T00:00:00.000000Z", "0"],
    "search_term": {"and": {"event_type": "user_login_attempt"}, "or": {}, "not": {"success": True}},
    "field": "event_type",
    "interval_unit": "h",
    "interval_value": "2",
    "timezone": "-0500",
    # Unsupported by alertsite; empty they ask for nothing.
    "q": "",
    "exact_match": "",
    "skip": 0,
}
# The vendor's code samples use placeholders ("string", 0, [{}]); these are what a script would send.
PLACEHOLDER_FIXES: dict[str, Any] = {
    "start_time": START,
    "end_time": END,
    "q": "",
    "exact_match": "",
    "interval_value": "1",
    "timezone": "-0500",
    "search_after": ...,
}

if not SWAGGER.exists():
    pytest.skip(f"the vendor description is absent: {SWAGGER}", allow_module_level=True)

SPEC = orjson.loads(SWAGGER.read_bytes())


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$ref`s to #/definitions and merge `allOf` (Swagger 2 → a plain JSON Schema)."""
    if "$ref" in schema:
        return resolve(SPEC["definitions"][schema["$ref"].rsplit("/", 1)[-1]])
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    resolved = dict(schema)
    if "properties" in schema:
        resolved["properties"] = {name: resolve(value) for name, value in schema["properties"].items()}
    if "items" in schema:
        resolved["items"] = resolve(schema["items"])
    return resolved


def operation(path: str) -> dict[str, Any]:
    return SPEC["paths"][path]["post"]


def body_schema(path: str) -> dict[str, Any]:
    (parameter,) = [p for p in operation(path)["parameters"] if p["in"] == "body"]
    return resolve(parameter["schema"])


def response_schema(path: str) -> dict[str, Any]:
    return resolve(operation(path)["responses"]["200"]["schema"])


def minimal_body(path: str) -> dict[str, Any]:
    schema = body_schema(path)
    return {name: GOOD_VALUES[name] for name in schema["required"]}


def full_body(path: str) -> dict[str, Any]:
    return {name: GOOD_VALUES[name] for name in body_schema(path)["properties"] if name in GOOD_VALUES}


def sample_bodies(path: str) -> list[dict[str, Any]]:
    """The JSON bodies of the operation's curl examples (description and x-codeSamples), placeholders fixed."""
    texts = [operation(path).get("description", "")]
    texts += [sample["source"] for sample in operation(path).get("x-codeSamples", []) if sample["lang"] == "Shell"]
    bodies = []
    for text in texts:
        for raw in re.findall(r"--data '(\{.*?\})'", text):
            body = orjson.loads(raw)
            for name, value in PLACEHOLDER_FIXES.items():
                if name in body:
                    body[name] = value
            bodies.append({name: value for name, value in body.items() if value is not ...})
    assert bodies, f"no sample body found for {path}"
    return bodies


def nontrivial_value(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "x", "integer": 5, "boolean": True, "array": ["x"], "object": {"and": {"a": "b"}}}.get(kind, "x")


@pytest.fixture
def stored(store, event):
    store(
        event(1, timestamp="2025-03-02T09:00:00Z", initiated_by={"username": "alice"}),
        event(2, timestamp="2025-03-03T09:00:00Z", event_type="sso_auth", service="sso"),
    )


def check(response: Any, path: str) -> Any:
    assert response.status_code == 200, (path, response.content)
    body = orjson.loads(response.content)
    jsonschema.validate(body, response_schema(path), cls=jsonschema.Draft4Validator)
    return body


@pytest.mark.parametrize("path", OPERATIONS)
def test_body_with_only_the_required_fields_answers_the_response_schema(viewer, stored, path):
    check(viewer.post(path, minimal_body(path)), path)


@pytest.mark.parametrize("path", OPERATIONS)
def test_body_with_every_property_answers_the_response_schema(viewer, stored, path):
    check(viewer.post(path, full_body(path)), path)


@pytest.mark.parametrize("path", OPERATIONS)
def test_the_vendors_sample_bodies_answer_the_response_schema(viewer, stored, path):
    for body in sample_bodies(path):
        check(viewer.post(path, body), path)


@pytest.mark.parametrize("path", OPERATIONS)
def test_every_body_property_is_supported_or_answered_400_naming_it(viewer, stored, path):
    for name, schema in body_schema(path)["properties"].items():
        body = {**minimal_body(path), name: GOOD_VALUES.get(name, nontrivial_value(schema))}
        if name in ("q", "exact_match", "skip"):
            body[name] = nontrivial_value(schema)
        response = viewer.post(path, body)
        if response.status_code == 400:
            assert name in response.json()["message"], (path, name, response.json())
            assert name in ("q", "exact_match", "skip"), f"{name} should be supported: {response.json()}"
        else:
            check(response, path)


def test_every_vendor_service_name_is_accepted(viewer):
    names = body_schema("/events")["properties"]["service"]["items"]["enum"]
    for name in names:
        response = viewer.post("/events/count", {"service": [name], "start_time": START})
        assert response.status_code == 200, (name, response.content)


def test_projection_and_search_term_of_the_full_body_apply(viewer, stored):
    body = check(viewer.post("/events", full_body("/events")), "/events")
    assert body == [{"timestamp": "2025-03-02T09:00:00Z", "event_type": "user_login_attempt",
                     "initiated_by": {"username": "alice"}}]  # fmt: skip


def test_paths_are_the_vendors(db):
    assert {path for path in SPEC["paths"] if path.startswith("/events")} == set(OPERATIONS)
    assert SPEC["basePath"] + "/events" == BASE + "/events"
