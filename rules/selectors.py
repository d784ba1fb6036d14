"""Reads of rules: the engine for this process, kept current through the rules version stamp."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce

from alertsite import stamps
from rules.conditions import ConditionError, conditions_parse
from rules.detections import detection_kinds
from rules.engine import RuleEngine, RuleSpec, group_key_for
from rules.models import BackfillStatus, Rule, RulesVersion, RuleTemplate
from rules.paths import path_parse, values_at
from rules.templates_catalog import TEMPLATES_BY_SLUG

logger = logging.getLogger(__name__)

# A new_value rule in these learning states records values but fires on none (rules.detections.learning).
LEARNING = frozenset({BackfillStatus.QUEUED, BackfillStatus.RUNNING})

_lock = threading.Lock()
_engine: RuleEngine | None = None
_engine_stamp: str | None = None
_selected_types: tuple[str, frozenset[str]] | None = None
_pinned_stamp: ContextVar[str | None] = ContextVar("rules_pinned_stamp", default=None)
STAMP_SQL = f"SELECT stamp FROM {RulesVersion._meta.db_table} WHERE id = 1"
# The batch's read: the rules stamp and alertsite.stamps' stamps in one row (any of them may be missing).
STAMPS_SQL = f"SELECT ({STAMP_SQL}), {stamps.SELECT_COLUMNS}"


def rules_stamp() -> str:
    """The rules version stamp (one plain statement: it is read by every batch and request that
    evaluates or ingests), or the one pinned for the batch under way."""
    pinned = _pinned_stamp.get()
    if pinned is not None:
        return pinned
    with connection.cursor() as cursor:
        cursor.execute(STAMP_SQL)
        row = cursor.fetchone()
    return str(row[0]) if row else ""


@contextmanager
def rules_stamp_pinned() -> Iterator[str]:
    """Read the stamp once for a whole evaluation batch: its engine, the policies and the audit
    events the batch writes all see the same rules, for one statement instead of several. The
    same statement reads the channels' and maintenance windows' stamps (alertsite.stamps), so
    the batch reads those tables only when they changed. A block already pinned keeps its pins."""
    if _pinned_stamp.get() is not None:
        yield rules_stamp()
        return
    with connection.cursor() as cursor:
        cursor.execute(STAMPS_SQL)
        row = cursor.fetchone()
    stamp = str(row[0]) if row and row[0] is not None else ""
    token = _pinned_stamp.set(stamp)
    try:
        with stamps.pinned(tuple(row[1:]) if row else (None,) * len(stamps.NAMES)):
            yield stamp
    finally:
        _pinned_stamp.reset(token)


def rule_spec(rule: Rule) -> RuleSpec | None:
    """The engine's view of a rule; None (and a log line) when its stored conditions no longer parse."""
    try:
        conditions = conditions_parse(rule.conditions)
    except ConditionError as exc:
        logger.error("rule skipped: stored conditions invalid", extra={"rule_id": rule.pk, "errors": exc.errors})
        return None
    detection = rule.detection or None
    if detection is not None and (not isinstance(detection, dict) or detection.get("type") not in detection_kinds):
        logger.error("rule skipped: stored detection invalid", extra={"rule_id": rule.pk})
        return None
    return RuleSpec(
        id=rule.pk,
        conditions=tuple(conditions),
        group_by=tuple(rule.group_by or ()),
        detection=detection,
        learning=detection is not None and rule.learn_status in LEARNING,
    )


def engine_build(rules: list[Rule]) -> RuleEngine:
    return RuleEngine(spec for spec in (rule_spec(rule) for rule in rules) if spec is not None)


def engine_current() -> RuleEngine:
    """The engine over all enabled rules, rebuilt only when the rules version stamp moved."""
    global _engine, _engine_stamp
    stamp = rules_stamp()
    with _lock:
        if _engine is None or _engine_stamp != stamp:
            rules = list(
                Rule.objects.filter(enabled=True).only("pk", "conditions", "group_by", "detection", "learn_status")
            )
            _engine = engine_build(rules)
            _engine_stamp = stamp
            logger.info("rule engine built", extra={"rules": _engine.rule_count, "stamp": stamp})
        return _engine


def engine_reset() -> None:
    """Forget the cached engine (tests, or after bulk changes made outside the services)."""
    global _engine, _engine_stamp, _selected_types
    with _lock:
        _engine, _engine_stamp, _selected_types = None, None, None


def types_selected_by_rules(types: set[str]) -> set[str]:
    """Evaluation scope: the types among `types` that an enabled rule selects (cached per rules stamp)."""
    global _selected_types
    stamp = rules_stamp()
    cached = _selected_types
    if cached is None or cached[0] != stamp:
        selected: set[str] = set()
        for text in Rule.objects.filter(enabled=True).values_list("selected_event_types", flat=True):
            selected.update(text.split())
        cached = (stamp, frozenset(selected))
        _selected_types = cached
    return types & cached[1]


# -- Rule Management templates --------------------------------------------------------------


TEMPLATE_SLUG_RE = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def rule_names_using_channel(channel_id: int) -> list[str]:
    """Names of the rules that send to the channel, by name (channels refuses to delete it then)."""
    return list(Rule.objects.filter(channels=channel_id).order_by("name").values_list("name", flat=True))


def rules_using_channel(channel_id: int) -> list[tuple[int, str]]:
    """(id, name) of the rules that send to the channel, by name: for links from channel pages."""
    return list(Rule.objects.filter(channels=channel_id).order_by("name").values_list("pk", "name"))


def channel_rule_count() -> Coalesce:
    """An annotation for channel querysets: how many rules send to each channel (sortable)."""
    uses = (
        Rule.channels.through.objects.filter(channel_id=OuterRef("pk"))
        .order_by()
        .values("channel_id")
        .annotate(n=Count("pk"))  # type: ignore[misc]  # django-stubs cannot see an annotation in a Subquery
        .values("n")
    )
    return Coalesce(Subquery(uses, output_field=IntegerField()), 0)


def template_get(slug: str) -> RuleTemplate | None:
    """The stored template; a built-in one answers from the code even when its row is missing
    (a flushed table), so rules naming a built-in template always validate."""
    if not isinstance(slug, str) or not TEMPLATE_SLUG_RE.fullmatch(slug):
        return None
    found = RuleTemplate.objects.filter(slug=slug).first()
    if found is None and slug in TEMPLATES_BY_SLUG:
        found = RuleTemplate(built_in=True, **TEMPLATES_BY_SLUG[slug].as_dict())
    return found


def template_rule(slug: str) -> dict:
    """A template's rule body (a fresh copy from the DB). Raises KeyError for an unknown slug."""
    template = template_get(slug)
    if template is None:
        raise KeyError(slug)
    return template.rule


def templates_list(*, tab: str = "", search: str = "") -> list[RuleTemplate]:
    """The catalog in order, optionally one tab's, optionally those whose name holds `search`."""
    templates = RuleTemplate.objects.all()
    if tab:
        templates = templates.filter(tab=tab)
    if search.strip():
        templates = templates.filter(name__icontains=search.strip())
    return list(templates)


def templates_by_slug() -> dict[str, RuleTemplate]:
    """Every template by slug, in one query (for pages that label many rules)."""
    return {template.slug: template for template in RuleTemplate.objects.all()}


# -- for other apps' pages ----------------------------------------------------------------------


def rule_choices(*, limit: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the rules by name (at most `limit`): Rule filters on other apps' pages."""
    rows = Rule.objects.order_by("name", "pk").values_list("pk", "name")
    return list(rows[:limit] if limit is not None else rows)


def rule_ids_existing(ids: Collection[int]) -> set[int]:
    """Those of `ids` that name a rule (maintenance window scopes are checked with this)."""
    return set(Rule.objects.filter(pk__in=list(ids)).values_list("pk", flat=True))


def rule_names(ids: Collection[int]) -> dict[int, str]:
    """Id -> name of these rules (pages that show a maintenance window's scope)."""
    return dict(Rule.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


def group_values(group_by: Sequence[str], event: Any, group_key: str) -> list[tuple[str, Any]] | None:
    """What an alert's group key stands for: `[(key, value), ...]` of the rule's `group_by` read off
    the alert's first event, as the engine read them (strings lower-cased).

    None when they can't be told for sure: no grouping, no event (retention), or the rule's
    `group_by` changed since (the values no longer hash to the stored key).
    """
    if not group_key or not group_by or not isinstance(event, dict):
        return None
    paths = [path_parse(key) for key in group_by if isinstance(key, str)]
    if group_key_for(paths, event) != group_key:
        return None
    pairs: list[tuple[str, Any]] = []
    for key, path in zip(group_by, paths, strict=True):
        found = values_at(event, path)
        value = found[0] if found else None
        pairs.append((key, value.lower() if isinstance(value, str) else value))
    return pairs
