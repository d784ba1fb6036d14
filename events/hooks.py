"""Extension points that let later apps react to the event log without `events` importing them.

- Ingest listeners get the primary keys of newly stored events after the transaction
  commits (the rules app registers its evaluation task here).
- An in-transaction evaluation may evaluate a request's few new events inside the very
  transaction that stores them (the rules app registers it): no pending row, no second
  transaction, and the events and their alerts commit together.
- Retention guards name events that must outlive the retention period (the alerts app
  protects events that an unresolved alert points at).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from events.models import AuditEvent

IngestListener = Callable[[list[int]], None]
# Returns a queryset of AuditEvent primary keys to keep (used as a subquery).
RetentionGuard = Callable[[], "QuerySet | Iterable[int]"]

# Given the event types of a batch, answers the ones that something will evaluate; events of
# other types are stored as already evaluated and never queued (the rules app registers it).
EvaluationScope = Callable[[set[str]], set[str]]

# Entered around a whole ingest with how many of its events might be evaluated: yields the
# function that evaluates stored events in the storing transaction, or None to decline (then
# they get pending rows and go to the ingest listeners after the commit, as always).
EvaluateStored = Callable[["list[AuditEvent]"], object]
InTransactionEvaluation = Callable[[int], AbstractContextManager[EvaluateStored | None]]

_ingest_listeners: list[IngestListener] = []
_in_transaction_evaluation: InTransactionEvaluation | None = None
_evaluation_scopes: list[EvaluationScope] = []
_retention_guards: list[RetentionGuard] = []


def ingest_listener_register(listener: IngestListener) -> IngestListener:
    """Register `listener(pks)` to hear about new events; usable as a decorator. Idempotent."""
    if listener not in _ingest_listeners:
        _ingest_listeners.append(listener)
    return listener


def ingest_listener_unregister(listener: IngestListener) -> None:
    if listener in _ingest_listeners:
        _ingest_listeners.remove(listener)


def ingest_listeners() -> tuple[IngestListener, ...]:
    return tuple(_ingest_listeners)


def retention_guard_register(guard: RetentionGuard) -> RetentionGuard:
    if guard not in _retention_guards:
        _retention_guards.append(guard)
    return guard


def retention_guard_unregister(guard: RetentionGuard) -> None:
    if guard in _retention_guards:
        _retention_guards.remove(guard)


def retention_guards() -> tuple[RetentionGuard, ...]:
    return tuple(_retention_guards)


def evaluation_scope_register(scope: EvaluationScope) -> EvaluationScope:
    if scope not in _evaluation_scopes:
        _evaluation_scopes.append(scope)
    return scope


def evaluation_scope_unregister(scope: EvaluationScope) -> None:
    if scope in _evaluation_scopes:
        _evaluation_scopes.remove(scope)


def types_to_evaluate(types: set[str]) -> set[str]:
    """The types some registered scope wants evaluated; all of them when no scope is registered."""
    if not _evaluation_scopes:
        return set(types)
    wanted: set[str] = set()
    for scope in _evaluation_scopes:
        wanted |= scope(types)
    return wanted


def in_transaction_evaluation_register(evaluation: InTransactionEvaluation) -> InTransactionEvaluation:
    """Register the in-transaction evaluation (one at a time: a later one replaces it)."""
    global _in_transaction_evaluation
    _in_transaction_evaluation = evaluation
    return evaluation


def in_transaction_evaluation(count: int) -> AbstractContextManager[EvaluateStored | None]:
    """The registered in-transaction evaluation for `count` events; declining when none is registered."""
    if _in_transaction_evaluation is None or count <= 0:
        return nullcontext(None)
    return _in_transaction_evaluation(count)
