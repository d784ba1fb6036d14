"""The OpenAPI 3 schema at /api/schema/ and the interactive docs at /api/docs/ (api.md section 1)."""

from __future__ import annotations

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema_response(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")


def test_schema_is_openapi_3(schema_response):
    assert schema_response.status_code == 200
    schema = schema_response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "alertsite API"


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/{id}", "/api/v1/event-types", "/api/v1/auth/token"])
def test_schema_documents_the_public_paths(schema_response, path):
    paths = schema_response.json()["paths"]
    assert path in paths or path + "/" in paths, sorted(paths)


@pytest.mark.parametrize("operation", ["events", "events/count", "events/distinct", "events/interval"])
def test_schema_documents_the_directory_insights_compatible_operations(schema_response, operation):
    paths = schema_response.json()["paths"]
    path = f"/insights/directory/v1/{operation}"
    post = (paths.get(path) or paths[path + "/"])["post"]
    assert {"apiKeyAuth": []} in post["security"]
    assert {"200", "400", "401", "403"} <= set(post["responses"])


def test_schema_documents_event_ingest_with_both_media_types(schema_response):
    paths = schema_response.json()["paths"]
    post = (paths.get("/api/v1/events") or paths["/api/v1/events/"])["post"]
    assert set(post["requestBody"]["content"]) >= {"application/json", "application/x-ndjson"}
    assert {"202", "400", "413"} <= set(post["responses"])


def test_schema_is_served_as_yaml_by_default_and_answers_without_trailing_slash(client):
    response = client.get("/api/schema")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_docs_page_renders_for_a_logged_in_user(client, make_user):
    client.force_login(make_user("viewer"))
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    # Swagger UI's set-up script is a file of its own (no inline script under the CSP); it reads the schema.
    assert '<script src="/api/docs/?script="></script>' in response.content.decode()
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema" in script.content.decode()


def test_docs_page_and_schema_are_public(client):
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/schema/").status_code == 200
