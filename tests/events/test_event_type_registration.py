"""Unknown event types join the catalog once; a process does not ask again for types it registered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.models import EventType
from events.services import event_batch_ingest, event_types_forget
from events.validation import Limits, event_validate
from tests.factories import make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def ingest(django_capture_on_commit_callbacks):
    """Ingest as a request would, its commit hooks run (the process learns types at commit)."""

    def run(*events: dict) -> None:
        limits = Limits.from_settings()
        with django_capture_on_commit_callbacks(execute=True):
            event_batch_ingest(records=[event_validate(event, index=0, limits=limits) for event in events])

    return run


def test_an_unknown_type_joins_the_catalog_as_unknown(ingest):
    ingest(make_event(id="t-1", event_type="vendor_new_thing"))
    assert EventType.objects.get(name="vendor_new_thing").known is False


def test_a_type_this_process_registered_costs_no_statement_the_next_time(ingest):
    ingest(make_event(id="t-1", event_type="vendor_new_thing"))
    with CaptureQueriesContext(connection) as queries:
        ingest(make_event(id="t-2", event_type="vendor_new_thing"))
    assert not [q for q in queries.captured_queries if "events_eventtype" in q["sql"]]


def test_a_type_deleted_from_the_catalog_comes_back_once_the_process_forgets(ingest):
    ingest(make_event(id="t-1", event_type="vendor_new_thing"))
    EventType.objects.filter(name="vendor_new_thing").delete()
    event_types_forget()  # what the few minutes' expiry does
    ingest(make_event(id="t-2", event_type="vendor_new_thing"))
    assert EventType.objects.filter(name="vendor_new_thing").exists()
