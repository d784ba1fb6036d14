"""Learning a new_value rule in SQL (rules.detections.learning_sql) learns what the Python path learns.

The SQL path groups events on the values the rule reads and decides once per group; these
tests store events of every awkward shape and check that both paths leave the same value rows
(hash, first and last seen) and count the same matches, with progress moving per slice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import AuditEvent
from rules.conditions import Condition, Filter
from rules.detections import learning
from rules.detections.learning import rule_learn
from rules.detections.learning_sql import payload_rebuild, projection_paths
from rules.models import BackfillStatus, DetectionValue, Rule
from rules.selectors import rule_spec
from rules.services import rule_create

pytestmark = pytest.mark.django_db(transaction=False)

NOW = timezone.now().replace(microsecond=0)

# Every shape the two paths must read alike: case, unicode whose lower() changes length or turns
# ASCII, numbers that compare equal but print apart, booleans, objects, lists at the end and on
# the way, nulls, missing keys, scalars where an object is expected, events of another type.
ODD_PAYLOADS: list[dict[str, Any]] = [
    {"initiated_by": {"email": "alice@example.com"}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "ALICE@example.com"}, "geoip": {"country_code": "de"}, "success": True},
    {"initiated_by": {"email": "alice@example.com"}, "geoip": {"country_code": "FR"}, "success": False},
    {"initiated_by": {"email": "straße@example.com"}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "STRASSE@example.com"}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "\u212aelvin@example.com"}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "kelvin@example.com"}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "\u0130rem@example.com"}, "geoip": {"country_code": "TR"}, "success": True},
    {"initiated_by": {"email": "日本@example.com"}, "geoip": {"country_code": "JP"}, "success": True},
    {"initiated_by": {"email": 1}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": 1.0}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": True}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": {"b": 1, "a": [2, "X"]}}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": ["a@example.com", "b@example.com"]}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": []}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": [{"email": "list@example.com"}, {"email": "two@example.com"}], "geoip": {"country_code": "DE"}},
    {"initiated_by": [[{"email": "deep@example.com"}]], "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": None}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": ""}, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": None, "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": "alice@example.com", "geoip": {"country_code": "DE"}, "success": True},
    {"initiated_by": {"email": "alice@example.com"}, "success": True},
    {"initiated_by": {"email": "alice@example.com"}, "geoip": {}, "success": "yes"},
    {"initiated_by": {"email": "alice@example.com"}, "geoip": {"country_code": "DE"}, "success": None},
    {"initiated_by": {"email": "bob@example.com", "0": "zero"}, "geoip": {"country_code": "NL"}, "success": True},
    {"initiated_by": {"email": "x@example.com"}, "geoip": {"country_code": "DE"}, "client_ip": "10.1.2.3"},
    {"initiated_by": {"email": "y@example.com"}, "geoip": {"country_code": "DE"}, "client_ip": "192.0.2.1"},
    {"initiated_by": {"email": "y@example.com"}, "geoip": [{"country_code": "US"}, {"country_code": "CA"}]},
    {"initiated_by": {"email": "big@example.com"}, "geoip": {"country_code": 12345678901234567890}},
    {"initiated_by": {"email": "z@example.com"}, "geoip": {"country_code": "DE"}, "event_type": "user_login"},
    {
        "initiated_by": {"email": "c@example.com"},
        "geoip": {"country_code": "DE"},
        "changes": [{"field": "Email", "from": "a", "to": "b"}],
    },
    {
        "initiated_by": {"email": "g@example.com"},
        "event_type": "association_change",
        "association": {"op": "add", "connection": {"from": {"type": "user"}, "to": {"type": "user_group"}}},
    },
]


def store(payloads: list[dict[str, Any]], *, days_apart: float = 0.25) -> None:
    rows = []
    for index, extra in enumerate(payloads):
        at = NOW - timedelta(days=days_apart * index + 0.01)
        payload = {"id": f"ev-{index}", "event_type": "user_login_attempt", "service": "directory", **extra}
        payload["timestamp"] = at.isoformat().replace("+00:00", "Z")
        rows.append(
            AuditEvent(
                event_id=payload["id"],
                event_type=payload["event_type"],
                service="directory",
                timestamp=at,
                received_at=NOW,
                success=payload.get("success") if isinstance(payload.get("success"), bool) else None,
                payload=payload,
            )
        )
    AuditEvent.objects.bulk_create(rows)


def new_value_rule(conditions: list[dict[str, Any]], fields: list[str]) -> Rule:
    return rule_create(
        data={
            "name": "Learns",
            "priority": "high",
            "conditions": conditions,
            "detection": {"type": "new_value", "fields": fields, "history_days": 30},
        },
        actor=None,
    )


def learned(rule: Rule, *, in_python: bool) -> tuple[int, set[tuple[str, Any, Any]]]:
    DetectionValue.objects.filter(rule=rule).delete()
    matched = rule_learn(rule_id=rule.pk, in_python=in_python)
    return matched, set(DetectionValue.objects.filter(rule=rule).values_list("value_hash", "first_seen", "last_seen"))


def both_paths(rule: Rule) -> tuple[tuple[int, set[Any]], tuple[int, set[Any]]]:
    return learned(rule, in_python=True), learned(rule, in_python=False)


LOGIN = "user_login_attempt"
RULES: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "no filters": ([{"event_type": LOGIN}], ["initiated_by.email", "geoip.country_code"]),
    "success eq true": (
        [{"event_type": LOGIN, "filters": [{"key": "success", "operator": "eq", "value": True}]}],
        ["initiated_by.email", "geoip.country_code"],
    ),
    "in and contains": (
        [
            {
                "event_type": LOGIN,
                "filters": [
                    {"key": "geoip.country_code", "operator": "in", "value": ["de", "FR", "tr"]},
                    {"key": "initiated_by.email", "operator": "contains", "value": "E"},
                ],
            }
        ],
        ["initiated_by.email"],
    ),
    "any of not_exists, in_cidr": (
        [
            {
                "event_type": LOGIN,
                "match": "any",
                "filters": [
                    {"key": "success", "operator": "not_exists"},
                    {"key": "client_ip", "operator": "in_cidr", "value": "10.0.0.0/8"},
                ],
            }
        ],
        ["$.initiated_by.email"],
    ),
    "change filter": (
        [{"event_type": LOGIN, "filters": [{"key": "email", "operator": "changed"}]}],
        ["initiated_by.email"],
    ),
    "two types, an action, one expression as filters": (
        [
            {"event_type": "association_change", "action": "user_added_to_user_group"},
            {"event_type": LOGIN, "expression": 'ieq(geoip.country_code, "DE") && success == true'},
        ],
        ["$.initiated_by.email"],
    ),
    "a whole object as the value": ([{"event_type": LOGIN}], ["$.initiated_by", "geoip.country_code"]),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_sql_path_learns_the_same_values_as_the_python_path(name: str) -> None:
    store(ODD_PAYLOADS)
    conditions, fields = RULES[name]
    rule = new_value_rule(conditions, fields)
    spec = rule_spec(rule)
    assert spec is not None and projection_paths(spec.conditions, fields) is not None  # SQL can take it
    python, sql = both_paths(rule)
    assert python[0] > 0
    assert sql == python


def test_each_learned_value_spans_its_first_and_last_event() -> None:
    store([{"initiated_by": {"email": "a@example.com"}, "geoip": {"country_code": "DE"}}] * 5)
    rule = new_value_rule([{"event_type": LOGIN}], ["initiated_by.email", "geoip.country_code"])
    matched, values = learned(rule, in_python=False)
    ((_, first, last),) = values
    assert matched == 5
    assert last - first == timedelta(days=1)


def test_events_older_than_the_history_are_not_learned() -> None:
    store(
        [{"initiated_by": {"email": f"u{n}@example.com"}, "geoip": {"country_code": "DE"}} for n in range(4)],
        days_apart=20,
    )
    rule = new_value_rule([{"event_type": LOGIN}], ["initiated_by.email", "geoip.country_code"])
    assert learned(rule, in_python=False)[0] == 2


def test_progress_moves_slice_by_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    store(ODD_PAYLOADS, days_apart=1.0)
    rule = new_value_rule([{"event_type": LOGIN}], ["initiated_by.email"])
    monkeypatch.setattr(learning, "LEARN_SLICE", 5)
    progress: list[int] = []
    write = learning._chunk_write

    def recording(rule_id: int, seen: Any, done: int) -> None:
        write(rule_id, seen, done)
        progress.append(Rule.objects.get(pk=rule_id).learn_done)

    monkeypatch.setattr(learning, "_chunk_write", recording)
    rule_learn(rule_id=rule.pk)
    rule.refresh_from_db()
    stored = AuditEvent.objects.filter(event_type=LOGIN, timestamp__gte=NOW - timedelta(days=30)).count()
    assert rule.learn_status == BackfillStatus.DONE
    assert rule.learn_total == rule.learn_done == stored
    assert len(progress) > 3
    assert progress == sorted(progress)


def test_an_expression_the_engine_cannot_read_as_filters_takes_the_python_path() -> None:
    conditions = [Condition(LOGIN, expression='lower(geoip.country_code) == "de" || success == true')]
    assert projection_paths(conditions, ["initiated_by.email"]) is None
    as_filters = [Condition(LOGIN, filters=(Filter("success", "eq", True),))]
    assert projection_paths(as_filters, ["initiated_by.email"]) == [
        ("event_type",),
        ("initiated_by", "email"),
        ("success",),
    ]


def test_a_payload_is_rebuilt_from_values_and_whole_keys() -> None:
    paths = [("a", "b"), ("a", "b", "c"), ("d", "e"), ("f",), ("g", "h")]
    columns = ['{"c": 1, "x": 2}', "1", 'W[{"e": "E"}]', "null", None]
    assert payload_rebuild(paths, columns) == {"a": {"b": {"c": 1, "x": 2}}, "d": [{"e": "E"}], "f": None}


# -- property: random shapes ----------------------------------------------------------------------

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 1.0, 1.5, -2, 10**18]),
    st.sampled_from(["DE", "de", "Dé", "straße", "STRASSE", "\u212a", "k", "\u0130", "日本", "", "0"]),
)


def holding(key: str) -> st.SearchStrategy[Any]:
    """Values, lists, and objects that hold `key` (nested any way): where a path may or may not lead."""
    return st.recursive(
        LEAVES,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.fixed_dictionaries({key: children}, optional={"x": LEAVES, "0": children}),
        ),
        max_leaves=5,
    )


PAYLOADS = st.fixed_dictionaries(
    {"initiated_by": holding("email"), "geoip": holding("country_code")},
    optional={"success": st.one_of(st.just(True), LEAVES)},
)
RANDOM_RULE = [
    {
        "event_type": LOGIN,
        "match": "any",
        "filters": [
            {"key": "success", "operator": "eq", "value": True},
            {"key": "geoip.country_code", "operator": "in", "value": ["de", "0"]},
            {"key": "initiated_by.x", "operator": "exists"},
        ],
    }
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payloads=st.lists(PAYLOADS, min_size=1, max_size=12))
def test_for_random_shapes_both_paths_learn_alike(payloads: list[dict[str, Any]]) -> None:
    AuditEvent.objects.all().delete()
    rule = Rule.objects.filter(name="Learns").first() or new_value_rule(
        RANDOM_RULE, ["initiated_by.email", "geoip.country_code"]
    )
    store(payloads, days_apart=0.5)
    python, sql = both_paths(rule)
    assert sql == python
