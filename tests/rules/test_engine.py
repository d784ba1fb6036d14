"""The rule engine: the value index agrees with brute force, grouping keys, and the per-process engine."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.conditions import Condition, Filter, condition_compile
from rules.engine import CompiledCondition, RuleEngine, RuleSpec, group_key_for
from rules.paths import path_parse
from rules.selectors import engine_current, engine_reset
from rules.services import rule_create, rule_update
from tests.factories import make_event

FAILED = Filter("success", "eq", False)


def rule(rule_id: int, *conditions: Condition, group_by: tuple[str, ...] = ()) -> RuleSpec:
    return RuleSpec(id=rule_id, conditions=conditions, group_by=group_by)


def login(*filters: Filter, match: str = "all") -> Condition:
    return Condition(event_type="user_login_attempt", match=match, filters=filters)


def candidate_rule_ids(engine: RuleEngine, event: dict[str, Any]) -> set[int]:
    return {condition.rule_id for condition in engine.candidates(event)}


# -- which conditions are visited -------------------------------------------------------------


def test_only_rules_for_the_event_type_are_visited():
    engine = RuleEngine(
        [
            rule(1, login()),
            rule(2, Condition(event_type="user_lockout")),
            rule(3, Condition(event_type="user_lockout"), login(FAILED)),
        ]
    )
    assert candidate_rule_ids(engine, make_event(event_type="user_lockout")) == {2, 3}
    assert engine.matching_rules(make_event(event_type="user_lockout")) == [2, 3]


def test_event_of_a_type_no_rule_selects_has_no_candidates():
    engine = RuleEngine([rule(1, login())])
    assert engine.candidates(make_event(event_type="admin_update")) == []
    assert engine.matching_rules({"no_event_type": True}) == []


def test_equality_filter_is_indexed_so_other_values_are_not_visited():
    engine = RuleEngine([rule(1, login(Filter("geoip.country_code", "eq", "DE"))), rule(2, login(FAILED))])
    assert engine.by_type["user_login_attempt"].unindexed == []
    assert candidate_rule_ids(engine, make_event(geoip={"country_code": "FR"}, success=True)) == set()
    assert candidate_rule_ids(engine, make_event(geoip={"country_code": "de"}, success=True)) == {1}


def test_in_filter_indexes_each_of_its_values():
    engine = RuleEngine([rule(1, login(Filter("geoip.country_code", "in", ["US", "CA"])))])
    assert engine.matching_rules(make_event(geoip={"country_code": "ca"})) == [1]
    assert engine.matching_rules(make_event(geoip={"country_code": "us"})) == [1]
    assert candidate_rule_ids(engine, make_event(geoip={"country_code": "DE"})) == set()


def test_indexed_candidate_is_still_checked_with_its_whole_predicate():
    engine = RuleEngine([rule(1, login(FAILED, Filter("geoip.country_code", "eq", "US")))])
    assert engine.matching_rules(make_event(success=False, geoip={"country_code": "DE"})) == []
    assert engine.matching_rules(make_event(success=False, geoip={"country_code": "US"})) == [1]


def test_equalities_on_several_keys_form_one_compound_key():
    us_failures = rule(1, login(Filter("geoip.country_code", "eq", "US"), FAILED))
    engine = RuleEngine([us_failures])
    assert list(engine.by_type["user_login_attempt"].by_key) == [(("geoip", "country_code"), ("success",))]
    assert candidate_rule_ids(engine, make_event(geoip={"country_code": "US"}, success=True)) == set()
    assert engine.matching_rules(make_event(geoip={"country_code": "us"}, success=False)) == [1]


def test_compound_key_of_in_filters_holds_every_combination():
    engine = RuleEngine(
        [rule(1, login(Filter("geoip.country_code", "in", ["US", "CA"]), Filter("mfa", "in", [True, False])))]
    )
    for country, mfa in (("US", True), ("CA", False), ("ca", True)):
        assert engine.matching_rules(make_event(geoip={"country_code": country}, mfa=mfa)) == [1]
    assert engine.matching_rules(make_event(geoip={"country_code": "DE"}, mfa=True)) == []


def test_compound_key_through_an_array_tries_each_value():
    condition = Condition(
        event_type="user_update",
        filters=(Filter("changes.field", "eq", "role"), Filter("initiated_by.email", "eq", "bob.smith@example.com")),
    )
    engine = RuleEngine([rule(1, condition)])
    event = make_event(event_type="user_update", changes=[{"field": "email"}, {"field": "role"}])
    assert engine.matching_rules(event) == [1]


def test_compound_key_over_long_arrays_walks_the_buckets_instead_of_every_combination():
    condition = Condition(
        event_type="user_update",
        filters=(Filter("changes.field", "eq", "role"), Filter("changes.to", "eq", "admin")),
    )
    engine = RuleEngine([rule(1, condition)])
    changes = [{"field": f"f{n}", "to": f"t{n}"} for n in range(200)]
    assert engine.matching_rules(make_event(event_type="user_update", changes=changes)) == []
    changes.append({"field": "Role", "to": "admin"})
    assert engine.matching_rules(make_event(event_type="user_update", changes=changes)) == [1]


def test_any_match_set_is_not_indexed_but_still_matches():
    engine = RuleEngine(
        [rule(1, login(Filter("success", "eq", True), Filter("geoip.country_code", "eq", "DE"), match="any"))]
    )
    type_index = engine.by_type["user_login_attempt"]
    assert type_index.by_key == {}
    assert [condition.rule_id for condition in type_index.unindexed] == [1]
    assert engine.matching_rules(make_event(success=False, geoip={"country_code": "DE"})) == [1]
    assert engine.matching_rules(make_event(success=True, geoip={"country_code": "FR"})) == [1]
    assert engine.matching_rules(make_event(success=False, geoip={"country_code": "FR"})) == []


def test_expression_that_is_not_a_filter_twin_is_not_indexed_but_still_matches():
    source = 'success == false && (mfa == false || initiated_by.email endsWith "@example.com")'
    engine = RuleEngine([rule(1, Condition(event_type="user_login_attempt", expression=source))])
    assert len(engine.by_type["user_login_attempt"].unindexed) == 1
    assert engine.matching_rules(make_event(success=False)) == [1]


def test_expression_made_of_filter_twins_is_indexed_like_filters():
    source = 'ieq(initiated_by.email, "bob.smith@example.com") && success == false'
    engine = RuleEngine([rule(1, Condition(event_type="user_login_attempt", expression=source))])
    assert engine.by_type["user_login_attempt"].unindexed == []
    assert engine.matching_rules(make_event(success=False)) == [1]
    assert engine.matching_rules(make_event(success=True)) == []


def test_boolean_and_number_buckets_do_not_collide():
    engine = RuleEngine([rule(1, login(Filter("level", "eq", True))), rule(2, login(Filter("level", "eq", 1)))])
    assert engine.matching_rules(make_event(level=True)) == [1]
    assert engine.matching_rules(make_event(level=1)) == [2]
    assert engine.matching_rules(make_event(level=1.0)) == [2]
    assert candidate_rule_ids(engine, make_event(level=True)) == {1}


def test_string_buckets_ignore_case():
    engine = RuleEngine([rule(1, login(Filter("initiated_by.email", "eq", "Bob.Smith@Example.com")))])
    assert engine.matching_rules(make_event()) == [1]


def test_value_through_an_array_reaches_its_bucket():
    engine = RuleEngine(
        [rule(1, Condition(event_type="user_update", filters=(Filter("changes.field", "eq", "role"),)))]
    )
    event = make_event(event_type="user_update", changes=[{"field": "email"}, {"field": "role"}])
    assert engine.matching_rules(event) == [1]


def test_rule_matching_through_two_conditions_is_listed_once():
    engine = RuleEngine([rule(1, login(FAILED), login(Filter("client_ip", "exists")))])
    assert engine.matching_rules(make_event(success=False)) == [1]


def test_match_batch_pairs_event_positions_with_rule_ids():
    engine = RuleEngine([rule(1, login(FAILED)), rule(2, login())])
    events = [make_event(success=True), make_event(success=False)]
    assert sorted(engine.match_batch(events)) == [(0, 2), (1, 1), (1, 2)]


def test_rule_whose_predicate_raises_is_logged_and_skipped(caplog):
    engine = RuleEngine([rule(1, login()), rule(2, login())])

    def broken(event: dict[str, Any]) -> bool:
        raise RuntimeError("broken rule")

    unindexed = engine.by_type["user_login_attempt"].unindexed
    unindexed[:] = [CompiledCondition(c.rule_id, c.position, broken) if c.rule_id == 1 else c for c in unindexed]
    with caplog.at_level(logging.ERROR, logger="rules.engine"):
        assert engine.matching_rules(make_event()) == [2]
    (record,) = [r for r in caplog.records if r.name == "rules.engine"]
    assert record.rule_id == 1
    assert record.exc_info is not None


# -- the index agrees with brute force --------------------------------------------------------

EVENT_TYPES = ("t1", "t2")
SCALARS = st.sampled_from(["x", "X", "y", "", 0, 1, 1.0, 2, -1.5, True, False])
KEYS = ("a", "b.c", "items.v")


def filters() -> st.SearchStrategy[Filter]:
    key = st.sampled_from(KEYS)
    return st.one_of(
        st.builds(Filter, key, st.just("eq"), SCALARS),
        st.builds(Filter, key, st.just("in"), st.lists(SCALARS, min_size=1, max_size=3)),
        st.builds(Filter, key, st.just("neq"), SCALARS),
        st.builds(Filter, key, st.just("not_in"), st.lists(SCALARS, min_size=1, max_size=3)),
        st.builds(Filter, key, st.just("contains"), st.sampled_from(["x", "y"])),
        st.builds(Filter, key, st.sampled_from(["exists", "not_exists"])),
        st.builds(Filter, key, st.sampled_from(["gt", "lte"]), st.sampled_from([0, 1, 1.5])),
    )


conditions = st.builds(
    Condition,
    event_type=st.sampled_from(EVENT_TYPES),
    match=st.sampled_from(["all", "any"]),
    filters=st.lists(filters(), max_size=3).map(tuple),
)
rule_lists = st.lists(st.lists(conditions, min_size=1, max_size=3), min_size=1, max_size=6)

VALUES = st.one_of(SCALARS, st.none())
events = st.fixed_dictionaries(
    {"event_type": st.sampled_from(EVENT_TYPES)},
    optional={
        "a": st.one_of(VALUES, st.lists(SCALARS, max_size=3)),
        "b": st.one_of(st.fixed_dictionaries({}, optional={"c": VALUES}), SCALARS),
        "items": st.lists(st.fixed_dictionaries({}, optional={"v": VALUES}), max_size=3),
    },
)


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(rule_lists, st.lists(events, min_size=1, max_size=5))
def test_value_index_matches_the_same_rules_as_brute_force(rule_conditions, event_list):
    specs = [RuleSpec(id=n + 1, conditions=tuple(conds)) for n, conds in enumerate(rule_conditions)]
    engine = RuleEngine(specs)
    for event in event_list:
        expected = {
            spec.id
            for spec in specs
            if any(c.event_type == event["event_type"] and condition_compile(c)(event) for c in spec.conditions)
        }
        found = engine.matching_rules(event)
        assert len(found) == len(set(found))
        assert set(found) == expected


# -- group keys ---------------------------------------------------------------------------------

BY_EMAIL = (path_parse("initiated_by.email"),)


def test_group_key_is_empty_without_group_by():
    assert group_key_for((), make_event()) == ""


def test_same_values_give_the_same_group_key_ignoring_case():
    upper = make_event(initiated_by={"email": "Bob.Smith@EXAMPLE.com"})
    assert group_key_for(BY_EMAIL, make_event()) == group_key_for(BY_EMAIL, upper)


def test_different_values_give_different_group_keys():
    other = make_event(initiated_by={"email": "carol@example.com"})
    assert group_key_for(BY_EMAIL, make_event()) != group_key_for(BY_EMAIL, other)


def test_group_key_combines_every_group_by_value():
    paths = (*BY_EMAIL, path_parse("client_ip"))
    elsewhere = make_event(client_ip="203.0.113.10")
    assert group_key_for(paths, make_event()) != group_key_for(paths, elsewhere)
    assert group_key_for(BY_EMAIL, make_event()) == group_key_for(BY_EMAIL, elsewhere)


def test_missing_group_by_value_is_a_key_of_its_own():
    missing = make_event(initiated_by={})
    assert group_key_for(BY_EMAIL, missing) not in ("", group_key_for(BY_EMAIL, make_event()))
    assert group_key_for(BY_EMAIL, missing) == group_key_for(BY_EMAIL, make_event(initiated_by=...))


def test_group_key_fits_the_match_column():
    assert len(group_key_for(BY_EMAIL, make_event())) == 40


def test_engine_group_key_uses_the_rules_group_by():
    engine = RuleEngine([rule(1, login(), group_by=("initiated_by.email",)), rule(2, login())])
    assert engine.group_key(1, make_event()) == group_key_for(BY_EMAIL, make_event())
    assert engine.group_key(2, make_event()) == ""


# -- the engine of this process ---------------------------------------------------------------

FAILED_LOGINS = {
    "name": "Failed logins",
    "conditions": [
        {"event_type": "user_login_attempt", "filters": [{"key": "success", "operator": "eq", "value": False}]}
    ],
}


@pytest.fixture
def fresh_engine():
    engine_reset()
    yield
    engine_reset()


@pytest.mark.django_db
def test_engine_is_rebuilt_after_a_rule_is_created(fresh_engine):
    before = engine_current()
    assert before.rule_count == 0
    rule_create(data=FAILED_LOGINS, actor=None)
    after = engine_current()
    assert after is not before
    assert after.rule_count == 1


@pytest.mark.django_db
def test_engine_is_rebuilt_after_a_rule_is_updated(fresh_engine):
    created = rule_create(data=FAILED_LOGINS, actor=None)
    before = engine_current()
    assert before.matching_rules(make_event(success=False)) == [created.pk]
    rule_update(rule=created, data={"enabled": False}, actor=None)
    after = engine_current()
    assert after is not before
    assert after.matching_rules(make_event(success=False)) == []


@pytest.mark.django_db
def test_engine_is_reused_with_one_query_while_rules_are_unchanged(fresh_engine, django_assert_num_queries):
    rule_create(data=FAILED_LOGINS, actor=None)
    built = engine_current()
    with django_assert_num_queries(1):
        assert engine_current() is built


@pytest.mark.django_db
def test_update_that_changes_nothing_keeps_the_engine(fresh_engine):
    created = rule_create(data=FAILED_LOGINS, actor=None)
    built = engine_current()
    rule_update(rule=created, data={"name": "Failed logins"}, actor=None)
    assert engine_current() is built


@pytest.mark.django_db
def test_engine_holds_only_enabled_rules(fresh_engine):
    rule_create(data=FAILED_LOGINS, actor=None)
    rule_create(data={**FAILED_LOGINS, "name": "Off", "enabled": False}, actor=None)
    assert engine_current().rule_count == 1


# -- matching_positions (detections need every condition an event matches) -------------------------


def test_matching_positions_reports_every_condition_of_a_detection_rule():
    detection = {"type": "sequence", "steps": [0, 1], "by": [], "within_minutes": 5}
    engine = RuleEngine(
        [
            RuleSpec(id=1, conditions=(login(), login(FAILED)), detection=detection),
            rule(2, login(), login(FAILED)),
        ]
    )
    found = engine.matching_positions(make_event(success=False))
    assert sorted(position for rule_id, position in found if rule_id == 1) == [0, 1]
    assert len([position for rule_id, position in found if rule_id == 2]) == 1
    assert engine.matching_positions(make_event(event_type="admin_create")) == []


def test_matching_positions_agrees_with_matching_rules():
    engine = RuleEngine([rule(1, login(FAILED)), RuleSpec(id=2, conditions=(login(),), detection={"type": "x"})])
    for event in (make_event(success=False), make_event(success=True)):
        assert sorted({rule_id for rule_id, _ in engine.matching_positions(event)}) == sorted(
            engine.matching_rules(event)
        )
