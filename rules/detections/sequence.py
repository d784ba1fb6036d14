"""`sequence`: events matching the rule's conditions in the order of `steps`, for the same `by`
values, within `within_minutes` of the first step.

The one state machine (`SequenceRun`) serves replay, `test` and the live path. Events are fed in
event-time order; per `by` key it keeps partial sequences (chains), oldest first:
- chains whose first step is more than the window before the event have expired;
- the event advances the oldest chain whose next step it matches; a chain that reaches its last
  step completes: it fires once and its events are consumed;
- otherwise, an event matching the first step starts a new chain.
The live path keeps every unconsumed step event of the window (rules.detections.live) and
feeds them again with the batch's, in event-time order, so a step that arrives late but inside
the window still completes its sequence, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rules.detections.base import (
    Decision,
    DetectionEvent,
    KeyCheck,
    detection_kinds,
    event_order,
    is_int,
    key_paths,
    key_values,
    keys_clean,
    values_hash,
    when,
)

MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_STEPS = 10


def by_key(detection: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """Hash of the event's `by` values; None when it lacks one (such an event is no step)."""
    values = key_values(payload, key_paths(detection.get("by") or []))
    return None if values is None else values_hash(values)


def window(detection: dict[str, Any]) -> timedelta:
    return timedelta(minutes=int(detection["within_minutes"]))


def step_label(step_labels: Sequence[str], condition: int) -> str:
    if 0 <= condition < len(step_labels) and step_labels[condition]:
        return step_labels[condition]
    return f"condition {condition}"


def explanation(detection: dict[str, Any], chain: Sequence[DetectionEvent], step_labels: Sequence[str]) -> str:
    """ "step 1 (admin_totp_disable) at 2026-12-07 10:00:03, step 2 (admin_password_change) at 10:04:10"."""
    parts = []
    for index, (condition, event) in enumerate(zip(detection["steps"], chain, strict=False)):
        label = step_labels[condition] if condition < len(step_labels) else event.payload.get("event_type", "")
        same_day = index > 0 and event.timestamp.date() == chain[0].timestamp.date()
        parts.append(
            f"step {index + 1} ({label or f'condition {condition}'}) at {when(event.timestamp, date=not same_day)}"
        )
    return ", ".join(parts)


@dataclass
class SequenceRun:
    """Partial sequences per `by` key, fed one event at a time in event-time order."""

    steps: tuple[int, ...]
    span: timedelta
    chains: dict[str, list[list[DetectionEvent]]] = field(default_factory=dict)
    # event pk -> pk of the first step of the chain the event went into (its own when it started one)
    placed: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, detection: dict[str, Any]) -> SequenceRun:
        return cls(tuple(int(step) for step in detection["steps"]), window(detection))

    def feed(self, key: str, event: DetectionEvent) -> list[DetectionEvent] | None:
        """The completed chain, when this event completes one; else None (it may start or advance one)."""
        chains = self.chains.setdefault(key, [])
        chains[:] = [chain for chain in chains if event.timestamp - chain[0].timestamp <= self.span]
        for index, chain in enumerate(chains):
            if self.steps[len(chain)] in event.positions:
                chain.append(event)
                self.placed[event.pk] = chain[0].pk
                if len(chain) == len(self.steps):
                    del chains[index]
                    return chain
                return None
        if self.steps[0] in event.positions:
            chains.append([event])
            self.placed[event.pk] = event.pk
        return None

    def resume(self, key: str, chains: Iterable[Sequence[DetectionEvent]]) -> None:
        """Start from these partial sequences of the key (oldest first), as an earlier run left them.

        An event's place depends on the chains before it, also ones that expired since; the
        live path resumes them rather than feeding the stored steps again from nothing.
        """
        self.chains[key] = [list(chain) for chain in chains]

    def waiting(self, key: str) -> list[list[DetectionEvent]]:
        return self.chains.get(key, [])


class SequenceKind:
    label = "Sequence"
    fields = frozenset({"type", "steps", "by", "within_minutes"})

    def clean(
        self, detection: dict[str, Any], *, conditions: Sequence[dict[str, Any]], keys: KeyCheck
    ) -> tuple[dict[str, Any], dict[str, str]]:
        errors: dict[str, str] = {}
        steps = detection.get("steps")
        if not isinstance(steps, list) or not all(is_int(step) for step in steps):
            errors["detection.steps"] = "Must be a list of condition indexes such as [0, 1]."
            steps = []
        elif len(steps) < 2:
            errors["detection.steps"] = "A sequence needs at least two steps (one step is a plain rule)."
        elif len(steps) > MAX_STEPS:
            errors["detection.steps"] = f"At most {MAX_STEPS} steps."
        else:
            for index, step in enumerate(steps):
                if not 0 <= step < len(conditions):
                    errors[f"detection.steps[{index}]"] = (
                        f"No condition {step}: the rule has {len(conditions)} (indexes 0 to {len(conditions) - 1})."
                    )
                elif steps.index(step) != index:
                    errors[f"detection.steps[{index}]"] = (
                        f"Condition {step} is already step {steps.index(step) + 1}; add another condition instead."
                    )
            unused = [index for index in range(len(conditions)) if index not in steps]
            if unused and not any(path.startswith("detection.steps") for path in errors):
                errors["detection.steps"] = (
                    "Every condition of a sequence rule is a step: "
                    f"add condition {', '.join(map(str, unused))} to the steps or remove it."
                )
        by = keys_clean(detection.get("by", []), "detection.by", keys, errors, minimum=0)
        minutes = detection.get("within_minutes")
        if not is_int(minutes) or not 1 <= minutes <= MAX_WINDOW_MINUTES:
            errors["detection.within_minutes"] = (
                f"Must be a whole number of minutes from 1 to {MAX_WINDOW_MINUTES} (7 days)."
            )
        return {"type": "sequence", "steps": steps, "by": by, "within_minutes": minutes}, errors

    def replay(
        self,
        detection: dict[str, Any],
        events: Iterable[DetectionEvent],
        *,
        history: Iterable[DetectionEvent] = (),
        step_labels: Sequence[str] = (),
    ) -> list[Decision]:
        run = SequenceRun.of(detection)
        for past in sorted(history, key=event_order):
            key = by_key(detection, past.payload)
            if key is not None:
                run.feed(key, past)  # primes partial sequences; what completes here already fired
        decisions = []
        for event in sorted(events, key=event_order):
            key = by_key(detection, event.payload)
            if key is None:
                continue
            chain = run.feed(key, event)
            if chain is not None:
                decisions.append(
                    Decision(event.pk, tuple(step.pk for step in chain), explanation(detection, chain, step_labels))
                )
        return decisions

    def explain(
        self,
        detection: dict[str, Any],
        event: DetectionEvent,
        *,
        history: Iterable[DetectionEvent] = (),
        step_labels: Sequence[str] = (),
    ) -> tuple[bool, str]:
        steps = list(detection["steps"])
        if not event.positions & set(steps):
            return False, "does not count: the event matches none of the steps"
        key = by_key(detection, event.payload)
        if key is None:
            return False, f"does not count: the event lacks one of {', '.join(detection.get('by') or [])}"
        run = SequenceRun.of(detection)
        for past in sorted(history, key=event_order):
            past_key = by_key(detection, past.payload)
            if past_key is not None:
                run.feed(past_key, past)
        chain = run.feed(key, event)
        if chain is not None:
            return True, explanation(detection, chain, step_labels)
        minutes = int(detection["within_minutes"])
        for waiting in run.waiting(key):
            if waiting[-1] is event:
                done = len(waiting)
                label = step_label(step_labels, steps[done])
                return (
                    False,
                    f"step {done} of {len(steps)}; waiting for step {done + 1} ({label}) within {minutes} minutes",
                )
        label = step_label(step_labels, steps[0])
        return False, f"waiting for step 1 ({label}) within {minutes} minutes"


detection_kinds.add("sequence", SequenceKind())
