"""`manage.py simulate_events`: feed simulated Directory Insights traffic into the event log.

Two modes:

- live (default): `--rate N --duration S` stores N events a second for S seconds, paced on
  the monotonic clock, each second's events stamped across the second that just passed;
- load: `--count C [--backfill-hours H]` stores C events as fast as possible, stamped
  across the last H hours (or now), e.g. to give a demo a little history.

Events go through the same validation and batch service as the ingestion API, so rules
and alerts react to them exactly as to real traffic.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alertsite.demo.simulator import EventSimulator
from events.services import ORIGIN_SIMULATE, event_batch_ingest
from events.validation import EventRecord, Limits, event_validate

MAX_BATCH_SIZE = 10_000
DEFAULT_RATE = 10.0
DEFAULT_DURATION = 60.0


@dataclass(slots=True)
class Totals:
    generated: int = 0
    accepted: int = 0
    duplicates: int = 0

    def add(self, other: Totals) -> None:
        self.generated += other.generated
        self.accepted += other.accepted
        self.duplicates += other.duplicates


class Command(BaseCommand):
    help = (
        "Generate simulated Directory Insights events: --rate N --duration S (paced, live), "
        "or --count C [--backfill-hours H] (as fast as possible, stamped over the last H hours)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", type=float, help=f"Events per second in live mode (default {DEFAULT_RATE:g}).")
        parser.add_argument(
            "--duration", type=float, help=f"Seconds to run in live mode (default {DEFAULT_DURATION:g})."
        )
        parser.add_argument("--count", type=int, help="Generate this many events without pacing, then stop.")
        parser.add_argument(
            "--backfill-hours",
            type=float,
            default=0.0,
            help="With --count: spread timestamps over the last H hours (default 0: all stamped now).",
        )
        parser.add_argument("--seed", type=int, help="Seed for a reproducible stream (default: random, printed).")
        parser.add_argument("--users", type=int, default=200, help="Size of the simulated workforce (default 200).")
        parser.add_argument("--batch-size", type=int, default=1000, help="Events per transaction (default 1000).")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int | None = options["count"]
        self._check_arguments(options)
        rate: float = DEFAULT_RATE if options["rate"] is None else options["rate"]
        duration: float = DEFAULT_DURATION if options["duration"] is None else options["duration"]
        backfill_hours: float = options["backfill_hours"]
        batch_size: int = options["batch_size"]
        users: int = options["users"]
        self.verbosity: int = options["verbosity"]
        seed = options["seed"] if options["seed"] is not None else random.SystemRandom().randrange(1 << 31)
        simulator = EventSimulator(seed=seed, users=users)
        self.limits = Limits.from_settings()

        started = time.monotonic()
        if count is not None:
            totals = self._load(simulator, count=count, backfill_hours=backfill_hours, batch_size=batch_size, seed=seed)
            target = ""
        else:
            totals = self._live(simulator, rate=rate, duration=duration, batch_size=batch_size)
            target = f" (target {rate:g}/s)"
        elapsed = max(time.monotonic() - started, 1e-9)
        if self.verbosity >= 1:
            self.stdout.write(
                f"generated {totals.generated}, accepted {totals.accepted}, duplicates {totals.duplicates} "
                f"in {elapsed:.1f}s: {totals.generated / elapsed:,.0f} events/s{target}; seed {seed}"
            )

    def _check_arguments(self, options: dict[str, Any]) -> None:
        if options["count"] is not None:
            if options["count"] < 1:
                raise CommandError("--count must be a positive number of events.")
            if options["rate"] is not None or options["duration"] is not None:
                raise CommandError("--count runs without pacing: leave out --rate and --duration.")
        else:
            if options["rate"] is not None and options["rate"] <= 0:
                raise CommandError("--rate must be a positive number of events per second.")
            if options["duration"] is not None and options["duration"] <= 0:
                raise CommandError("--duration must be a positive number of seconds.")
            if options["backfill_hours"]:
                raise CommandError("--backfill-hours only applies with --count.")
        if options["backfill_hours"] < 0:
            raise CommandError("--backfill-hours must not be negative.")
        if not 1 <= options["batch_size"] <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}.")
        if options["users"] < 1:
            raise CommandError("--users must be a positive number.")

    # -- modes

    def _load(
        self, simulator: EventSimulator, *, count: int, backfill_hours: float, batch_size: int, seed: int
    ) -> Totals:
        """Store `count` events as fast as possible, in time order across the backfill window."""
        now = timezone.now()
        window = timedelta(hours=backfill_hours)
        jitter = random.Random(seed)
        # One slot per event, a random instant inside each: ordered, spread, never in the future.
        stamps = (now - window + window * ((i + jitter.random()) / count) for i in range(count))
        events = (simulator.event(at) for at in stamps)
        totals = Totals()
        for batch in _chunks(events, batch_size):
            totals.add(self._ingest(batch))
        return totals

    def _live(self, simulator: EventSimulator, *, rate: float, duration: float, batch_size: int) -> Totals:
        """Store `rate` events a second until `duration` is over, one line of figures a second.

        Each tick stores the events of the second that just passed, so timestamps are never
        in the future; fractional rates carry over from tick to tick. When ingestion cannot
        keep up, ticks run back to back and the printed rate shows the shortfall.
        """
        totals = Totals()
        started, wall_start = time.monotonic(), timezone.now()
        ticks = max(1, round(duration))
        for tick in range(ticks):
            due = int(rate * (tick + 1)) - int(rate * tick)
            second_start = wall_start + timedelta(seconds=tick - 1)
            events = [simulator.event(second_start + timedelta(seconds=i / due)) for i in range(due)] if due else []
            second = Totals()
            for batch in _chunks(events, batch_size):
                second.add(self._ingest(batch))
            totals.add(second)
            elapsed = time.monotonic() - started
            if self.verbosity >= 1:
                self.stdout.write(
                    f"{tick + 1:>5}s  generated {second.generated:>6}  accepted {second.accepted:>6}  "
                    f"duplicates {second.duplicates:>4}  total {totals.generated:>9}  "
                    f"({totals.generated / max(elapsed, 1e-9):,.0f}/s)"
                )
            pause = started + tick + 1 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        return totals

    def _ingest(self, events: list[dict[str, Any]]) -> Totals:
        records: list[EventRecord] = []
        for index, event in enumerate(events):
            result = event_validate(event, index=index, limits=self.limits)
            if isinstance(result, list):
                # The simulator must only produce valid events: stop loudly rather than skip.
                problems = "; ".join(f"{error.field}: {error.message}" for error in result)
                raise CommandError(f"Simulated {event.get('event_type')} event is invalid: {problems}")
            records.append(result)
        result = event_batch_ingest(records=records, origin=ORIGIN_SIMULATE)
        return Totals(generated=len(events), accepted=result.accepted, duplicates=result.duplicates)


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
