"""deploy/compose.yaml is a valid Compose file with the services, checks and volumes README promises.

No container runtime here, so the file is validated against the Compose Specification's JSON
schema (tests/fixtures/compose-spec.schema.json, see tests/fixtures/README.md for where it
comes from) and read for what the schema cannot say.
"""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, REPO

SCHEMA = json.loads((REPO / "tests" / "fixtures" / "compose-spec.schema.json").read_text())
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def schema_errors(document: dict) -> list[str]:
    return [error.message for error in jsonschema.Draft7Validator(SCHEMA).iter_errors(document)]


def test_compose_file_is_valid_against_the_compose_specification_schema(compose):
    assert schema_errors(compose) == []


def test_schema_catches_a_misspelt_key(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["web"]["healthcheck"]["intervall"] = "5s"
    assert schema_errors(broken)


def test_compose_runs_web_worker_beat_postgresql_and_redis(compose):
    assert set(compose["services"]) == {"migrate", *APP_SERVICES, "db", "redis"}
    assert compose["services"]["db"]["image"].startswith("postgres:")
    assert compose["services"]["redis"]["image"].startswith("redis:")


def test_web_health_check_asks_healthz(compose):
    assert "http://127.0.0.1:8000/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_wait_for_healthy_database_and_redis_and_for_migrations(compose, service):
    assert compose["services"][service]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


@pytest.mark.parametrize("service", ["db", "redis"])
def test_database_and_redis_have_health_checks_and_named_volumes(compose, service):
    assert compose["services"][service]["healthcheck"]["test"]
    volume = compose["services"][service]["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_share_one_production_environment(compose, service):
    environment = compose["services"][service]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://alertsite:")
    assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert environment["SECRET_KEY"].startswith("${SECRET_KEY:?")  # compose refuses to start without it
    assert environment["ALERTSITE_ENCRYPTION_KEY"].startswith("${ALERTSITE_ENCRYPTION_KEY:?")


def test_app_services_are_built_from_the_repository_dockerfile(compose):
    build = compose["services"]["web"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == REPO / "Dockerfile"


def test_beat_keeps_its_schedule_in_a_named_volume(compose):
    beat = compose["services"]["beat"]
    assert "beat-schedule:/var/lib/alertsite" in beat["volumes"]
    assert "/var/lib/alertsite/celerybeat-schedule" in beat["command"]
