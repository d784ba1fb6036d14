"""Rule-engine benchmark: in-process evaluation throughput against the number of enabled rules.

Run from the repository root: `.venv/bin/python bench/rules.py [--events 100000]`.

No database, no network: the engine (`rules.engine.RuleEngine`) is pure, so this measures
only the matching itself. In one run it
  - generates N events once with `EventSimulator(seed=1)` (before any clock starts),
  - generates 10,000 rules with a seeded RNG and benches the first 10, 100, 1,000 and 10,000
    (each smaller set is a prefix of the larger ones),
  - prints for each count: engine build time, events/s of `match_batch` over all N events,
    matches found, and mean candidate conditions per event (`engine.candidates`, on a
    sample of 10,000 events), split into unindexed and value-index candidates,
  - prints a "type-index only" run at the largest count (every condition unindexed), so the
    effect of the value index is visible; it is ~10x slower, so it runs on an evenly spread
    subset of the events (`--type-only-events`, default 3,000).
Every figure is the best of `--repeats` runs (time.perf_counter), with the bench's own events
and rules frozen out of the garbage collector (gc.freeze) so it does not rescan them.

The rules imitate what admins write: one condition of three filters; event types weighted
toward the types the simulator emits (about 90% of rules, by the square root of their traffic
share; the rest spread over catalog types that never occur); one equality or `in` filter on an
identity (`initiated_by.email`, or `initiated_by.username` for types whose events carry no
e-mail) or on `geoip.country_code`, values drawn from the simulator's population and country
tables; two more filters such as `success eq false`, `mfa eq ...`, `client_ip in_cidr ...`,
`error_message contains ...`, in random order (the engine, not the author, picks the filter
to index). A share of the rules (default 10%) is written as an expression when
`rules.expression` provides `expression_compile`.

Detections (api.md section 12, `--detection-rules`, default 1,000 and 10,000): the same rules
again, of which 10% get a `new_value` detection (the identity key and, where the type carries it,
the country) and 5% a `sequence` (a second condition, a password change or a finished MFA
enrollment with step 1's equality filter, as step 2, by the identity key, within 10 minutes),
beside the same set without detections
in the same run:
  - in-process: `matching_positions` for every event, then `detection_replay` of each detection
    rule's matches in timestamp order (the decisions the live path reaches), against the plain
    set's `match_batch`; target: at least 50% of the plain figure;
  - `--db`: the database path, `rules.evaluation.events_evaluate` in batches over stored events
    (PostgreSQL from DATABASE_URL, default postgres://postgres@127.0.0.1:5432/alertsite_bench_rules,
    created and migrated when missing), plain set and detection set in turn;
  - `--learn-events N` (with `--db`; 1,000,000 for the issue's figure): the time one new_value
    rule takes to learn its history over N stored events (target under 10 s).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import sys
import time
import timeit
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.test")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertsite_bench_rules"
if "--db" in sys.argv:  # the database path: settings read DATABASE_URL when Django sets up
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)

import django  # noqa: E402 - needs ROOT on the path

django.setup()

from alertsite.demo.simulator import HOME_LOCATIONS, TRAFFIC_MIX, UNUSUAL_LOCATIONS, EventSimulator  # noqa: E402
from events.catalog import EVENT_TYPES, keys_for  # noqa: E402
from rules.conditions import conditions_parse  # noqa: E402
from rules.detections import DetectionEvent, detection_replay  # noqa: E402
from rules.engine import RuleEngine, RuleSpec  # noqa: E402
from rules.paths import path_parse, values_at  # noqa: E402

try:
    from rules.expression import expression_compile, expression_to_filters, filters_to_expression
except ImportError:  # no expression language in this tree: field filters only
    expression_compile = None
    expression_to_filters = None
    filters_to_expression = None

RULE_COUNTS = (10, 100, 1_000, 10_000)
DETECTION_RULE_COUNTS = (1_000, 10_000)
NEW_VALUE_SHARE, SEQUENCE_SHARE = 0.10, 0.05
DETECTION_TARGET = 0.5  # of the plain set's events/s
LEARN_TARGET_SECONDS = 10.0
CANDIDATE_SAMPLE = 10_000
EMITTED_SHARE = 0.9  # of the rules, on event types the simulator emits
TARGETS = {10: 200_000, 10_000: 50_000}  # events/s
REFERENCE = {10: 3_500_000, 1_000: 127_000, 10_000: 10_400}  # minimal matcher, indexed by event type only
CIDRS = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/25", "2001:db8::/32")
ERROR_WORDS = ("invalid", "TOTP", "suspended", "expired", "denied", "not authorized", "MFA")


# -- rules ----------------------------------------------------------------------------------------


def harvest_keys(events: Sequence[dict[str, Any]]) -> dict[str, set[str]]:
    """Which of the keys the bench filters on each emitted event type actually carries."""
    keys = ("initiated_by.email", "initiated_by.username", "mfa", "error_message", "client_ip")
    paths = {key: path_parse(key) for key in keys}
    present: dict[str, set[str]] = {}
    for event in events:
        found = present.setdefault(event["event_type"], set())
        for key, path in paths.items():
            if key not in found and values_at(event, path):
                found.add(key)
    return present


class RuleFactory:
    """Seeded, realistic rules: see the module docstring."""

    def __init__(self, simulator: EventSimulator, sample: Sequence[dict[str, Any]], seed: int) -> None:
        self.rng = random.Random(seed)
        people = [*simulator.users, *simulator.admins]
        self.emails = [person.email for person in people]
        self.usernames = [person.username for person in people]
        self.countries = list(dict.fromkeys(geo["country_code"] for _, geo in (*HOME_LOCATIONS, *UNUSUAL_LOCATIONS)))
        emitted = [name for name, _ in TRAFFIC_MIX]
        self.emitted_types = emitted
        self.emitted_weights = [math.sqrt(weight) for _, weight in TRAFFIC_MIX]
        self.silent_types = [spec.name for spec in EVENT_TYPES if spec.name not in set(emitted)]
        self.present = harvest_keys(sample)

    def event_type(self) -> str:
        if self.rng.random() < EMITTED_SHARE or not self.silent_types:
            return self.rng.choices(self.emitted_types, self.emitted_weights)[0]
        return self.rng.choice(self.silent_types)

    def _pick(self, population: Sequence[str]) -> tuple[str, Any]:
        """`eq` one value (two times in three) or `in` two to four."""
        if self.rng.random() < 2 / 3:
            return "eq", self.rng.choice(population)
        return "in", self.rng.sample(population, k=self.rng.randint(2, 4))

    def equality(self, event_type: str) -> dict[str, Any]:
        present = self.present.get(event_type)  # None: never emitted, anything goes
        if self.rng.random() < 0.6:
            if present is not None and "initiated_by.email" not in present and "initiated_by.username" in present:
                key, population = "initiated_by.username", self.usernames
            else:
                key, population = "initiated_by.email", self.emails
        else:
            key, population = "geoip.country_code", self.countries
        operator, value = self._pick(population)
        return {"key": key, "operator": operator, "value": value}

    def others(self, event_type: str) -> list[dict[str, Any]]:
        offered = set(keys_for(event_type))
        rng = self.rng

        def cidr_operator() -> str:
            return rng.choice(("in_cidr", "not_in_cidr"))

        def error_word() -> str:
            return rng.choice(ERROR_WORDS)

        pool: list[tuple[float, str, Callable[[], dict[str, Any]]]] = [
            (3, "success", lambda: {"key": "success", "operator": "eq", "value": False}),
            (2, "client_ip", lambda: {"key": "client_ip", "operator": cidr_operator(), "value": rng.choice(CIDRS)}),
            (1, "mfa", lambda: {"key": "mfa", "operator": "eq", "value": rng.random() < 0.5}),
            (1, "error_message", lambda: {"key": "error_message", "operator": "contains", "value": error_word()}),
        ]
        pool = [entry for entry in pool if entry[1] in offered]
        chosen: list[dict[str, Any]] = []
        while len(chosen) < 2 and pool:
            entry = rng.choices(pool, [weight for weight, _, _ in pool])[0]
            pool.remove(entry)
            chosen.append(entry[2]())
        return chosen

    def rules(self, count: int, expression_share: float) -> tuple[list[RuleSpec], int]:
        """`count` rules and how many of them are expressions (exactly floor(n * share) for every prefix n)."""
        specs, expressions = [], 0
        catalog = [spec.name for spec in EVENT_TYPES]
        for index in range(count):
            event_type = self.event_type()
            filters = [self.equality(event_type), *self.others(event_type)]
            self.rng.shuffle(filters)
            as_expression = filters_to_expression is not None and (
                math.floor((index + 1) * expression_share) > math.floor(index * expression_share)
            )
            if as_expression:
                condition = {"event_type": event_type, "expression": filters_to_expression(filters, "all")}
                expressions += 1
            else:
                condition = {"event_type": event_type, "match": "all", "filters": filters}
            parsed = conditions_parse([condition], event_types=catalog)
            specs.append(RuleSpec(id=index + 1, conditions=tuple(parsed)))
        return specs, expressions


# -- engines --------------------------------------------------------------------------------------


class TypeIndexOnlyEngine(RuleEngine):
    """The same engine with the value index switched off: every condition of a type is a candidate."""

    def __init__(self, rules: Sequence[RuleSpec]) -> None:
        import rules.engine as engine_module

        original = engine_module._index_filters
        engine_module._index_filters = lambda condition: []  # every condition compiled whole, unindexed
        try:
            super().__init__(rules)
        finally:
            engine_module._index_filters = original


def best_of(repeats: int, run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Shortest wall time of `repeats` runs, the process CPU time of that run, and the last result."""
    best, cpu, result = math.inf, math.inf, None
    for _ in range(repeats):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = run()
        elapsed = time.perf_counter() - started
        if elapsed < best:
            best, cpu = elapsed, time.process_time() - cpu_started
    return best, cpu, result


def candidate_counts(engine: RuleEngine, sample: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """Mean candidates per event, and the mean of those that are unindexed."""
    total = unindexed = 0
    for event in sample:
        total += len(engine.candidates(event))
        type_index = engine.by_type.get(event.get("event_type"))  # type: ignore[arg-type]
        unindexed += len(type_index.unindexed) if type_index is not None else 0
    return total / len(sample), unindexed / len(sample)


def index_paths(engine: RuleEngine) -> str:
    """How many conditions each (compound) key indexes (an `in` condition counted once), plus the unindexed."""
    counts: Counter[str] = Counter()
    for type_index in engine.by_type.values():
        counts["(unindexed)"] += len(type_index.unindexed)
        for paths, buckets in type_index.by_key.items():
            name = " + ".join(".".join(path) for path in paths)
            counts[name] += len({id(c) for bucket in buckets.values() for c in bucket})
    return ", ".join(f"{name} {count:,}" for name, count in counts.most_common())


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def versus(count: int, rate: float) -> str:
    notes = []
    if count in TARGETS:
        verdict = "meets" if rate >= TARGETS[count] else "MISSES"
        notes.append(f"{verdict} target >= {TARGETS[count]:,}")
    if count in REFERENCE:
        notes.append(f"type-only reference matcher {REFERENCE[count]:,}")
    return "; ".join(notes)


# -- detections -----------------------------------------------------------------------------------

# A sequence's step 2, as the examples go: "..., then the password changed" (or the MFA
# enrollment finished). Step 1 is the rule's own condition, often a busy one (a login).
SEQUENCE_SECOND_STEP = ("user_password_change", "totp_finish_enrollment")


def identity_key(condition: Any) -> str:
    """The identity key a rule's condition filters on (or the e-mail when it filters on a country)."""
    for flt in condition.filters or ():
        if flt.key in ("initiated_by.email", "initiated_by.username"):
            return flt.key
    return "initiated_by.email"


def with_detections(rules: Sequence[RuleSpec], present: dict[str, set[str]]) -> list[RuleSpec]:
    """The same rules, 10% with a new_value and 5% with a sequence detection (spread evenly by index).

    A sequence rule gains a second condition (a password change or a finished MFA enrollment, with
    step 1's equality filter) so each of its conditions is a step; its plain twin in `plain_twins`
    has the same two.
    """
    out = []
    catalog = [spec.name for spec in EVENT_TYPES]
    for index, rule in enumerate(rules):
        condition = rule.conditions[0]
        key = identity_key(condition)
        share = (index * 37) % 100  # deterministic spread over the prefix
        if share < NEW_VALUE_SHARE * 100:
            fields = [key]
            if "geoip.country_code" in keys_for(condition.event_type):
                fields.append("geoip.country_code")
            out.append(replace(rule, detection={"type": "new_value", "fields": fields, "history_days": 30}))
        elif share < (NEW_VALUE_SHARE + SEQUENCE_SHARE) * 100:
            # Step 2 narrows to the same person or country as step 1, as an admin would write it.
            second_type = SEQUENCE_SECOND_STEP[index % len(SEQUENCE_SECOND_STEP)]
            filters = [flt.as_dict() for flt in condition.filters or ()]
            if condition.expression is not None:
                filters = expression_to_filters(condition.expression)[1]
            same = [flt for flt in filters if flt["operator"] in ("eq", "in") and flt["key"] != "success"][:1]
            second = conditions_parse(
                [{"event_type": second_type, "match": "all", "filters": same}], event_types=catalog
            )
            detection = {"type": "sequence", "steps": [0, 1], "by": [key], "within_minutes": 10}
            out.append(replace(rule, conditions=(condition, *second), detection=detection))
        else:
            out.append(rule)
    return out


def plain_twins(rules: Sequence[RuleSpec]) -> list[RuleSpec]:
    return [replace(rule, detection=None) for rule in rules]


def detections_in_process(
    engine: RuleEngine, rules: Sequence[RuleSpec], events: Sequence[dict[str, Any]], moments: Sequence[datetime]
) -> int:
    """Match every event (every position) and replay each detection rule's matches: the decisions made."""
    detections = {rule.id: rule.detection for rule in rules if rule.detection}
    collected: dict[int, list[DetectionEvent]] = {rule_id: [] for rule_id in detections}
    for index, event in enumerate(events):
        positions: dict[int, list[int]] = {}
        for rule_id, position in engine.matching_positions(event):
            if rule_id in collected:
                positions.setdefault(rule_id, []).append(position)
        for rule_id, found in positions.items():
            collected[rule_id].append(DetectionEvent(index, moments[index], event, frozenset(found)))
    return sum(len(detection_replay(detections[rule_id], items)) for rule_id, items in collected.items() if items)


def detection_table(
    all_rules: Sequence[RuleSpec],
    counts: Sequence[int],
    events: Sequence[dict[str, Any]],
    moments: Sequence[datetime],
    present: dict[str, set[str]],
    repeats: int,
) -> None:
    print(
        f"\ndetections in-process: {NEW_VALUE_SHARE:.0%} new_value + {SEQUENCE_SHARE:.0%} sequence rules, "
        "beside the same rules without detections"
    )
    header = (
        f"{'rules':>7}  {'plain ev/s':>11}  {'detect ev/s':>11}  {'share':>6}  {'plain matches':>13}  {'decisions':>9}"
    )
    print(header)
    print("-" * len(header))
    for count in counts:
        detected = with_detections(all_rules[:count], present)
        plain = plain_twins(detected)
        plain_engine, detect_engine = RuleEngine(plain), RuleEngine(detected)
        plain_elapsed, _, plain_matches = best_of(repeats, lambda engine=plain_engine: engine.match_batch(events))
        detect_elapsed, _, decisions = best_of(
            repeats,
            lambda engine=detect_engine, rules=detected: detections_in_process(engine, rules, events, moments),
        )
        plain_rate, detect_rate = len(events) / plain_elapsed, len(events) / detect_elapsed
        share = detect_rate / plain_rate
        verdict = "meets" if share >= DETECTION_TARGET else "MISSES"
        print(
            f"{count:>7,}  {plain_rate:>11,.0f}  {detect_rate:>11,.0f}  {share:>6.0%}  {len(plain_matches):>13,}  "
            f"{decisions:>9,}   {verdict} target >= {DETECTION_TARGET:.0%} of plain"
        )


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="Simulated events (default 100000).")
    parser.add_argument("--repeats", type=int, default=3, help="Runs per figure; the best counts (default 3).")
    parser.add_argument(
        "--expression-share", type=float, default=0.10, help="Share of rules written as expressions (default 0.10)."
    )
    parser.add_argument("--rules", default=",".join(str(n) for n in RULE_COUNTS), help="Rule counts, comma-separated.")
    parser.add_argument(
        "--type-only-events",
        type=int,
        default=3_000,
        help="Events (evenly spread) for the type-index-only run, which is much slower (default 3000).",
    )
    parser.add_argument(
        "--detection-rules",
        default=",".join(str(n) for n in DETECTION_RULE_COUNTS),
        help="Rule counts for the detection runs, comma-separated; empty to skip them.",
    )
    parser.add_argument("--db", action="store_true", help="Also bench the database path (PostgreSQL, DATABASE_URL).")
    parser.add_argument("--db-events", type=int, default=20_000, help="Stored events for the database path.")
    parser.add_argument(
        "--learn-events", type=int, default=0, help="With --db: stored events one new_value rule learns from."
    )
    args = parser.parse_args()
    detection_counts = sorted({int(part) for part in args.detection_rules.split(",") if part.strip()})
    counts = sorted({int(part) for part in args.rules.split(",") if part.strip()})
    if (
        min(args.events, args.repeats, args.type_only_events) < 1
        or not counts
        or counts[0] < 1
        or not 0 <= args.expression_share <= 1
    ):
        parser.error("--events, --repeats, --type-only-events and rule counts must be positive; share in [0, 1].")

    simulator = EventSimulator(seed=1)
    started = time.perf_counter()
    events = list(simulator.events(args.events, start=datetime(2025, 1, 6, 9, tzinfo=UTC), rate_per_second=500))
    types = Counter(event["event_type"] for event in events)
    sample = events[:: max(1, len(events) // CANDIDATE_SAMPLE)][:CANDIDATE_SAMPLE]
    print(
        f"events: {len(events):,} from EventSimulator(seed=1), {len(types)} event types "
        f"(top: {', '.join(f'{name} {n / len(events):.0%}' for name, n in types.most_common(3))}), "
        f"generated in {time.perf_counter() - started:.1f}s"
    )

    factory = RuleFactory(simulator, events[:20_000], seed=7)
    started = time.perf_counter()
    all_rules, _ = factory.rules(counts[-1], args.expression_share)
    print(f"rules: {len(all_rules):,} generated and parsed in {time.perf_counter() - started:.1f}s; ", end="")
    if expression_compile is None:
        print("rules.expression has no expression_compile: no expression rules (filters only)")
    else:
        print(f"{args.expression_share:.0%} written as expressions (rules.expression.filters_to_expression)")
    on_emitted = sum(1 for rule in all_rules if rule.conditions[0].event_type in types)
    print(f"       {on_emitted / len(all_rules):.0%} on event types present in the events; best of {args.repeats} runs")
    # The bench's own 100,000 events and 10,000 rules are millions of objects: keep the collector
    # from rescanning them in every full collection, which would otherwise dominate build times.
    gc.collect()
    gc.freeze()
    speed = min(timeit.repeat("sum(range(100))", number=100_000, repeat=5)) / 100_000 * 1e6
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, sum(range(100)) takes {speed:.2f} us "
        "(compare machines with this); in-process, one thread\n"
    )

    print(f"load average before: {load_average()}")
    header = (
        f"{'rules':>7}  {'expr':>5}  {'build ms':>9}  {'events/s':>10}  {'(cpu) ev/s':>10}  {'matches':>9}  "
        f"{'cand/event':>10}  {'unindexed':>9}"
    )
    print(header)
    print("-" * len(header))
    for count in counts:
        rules = all_rules[:count]
        expressions = sum(1 for rule in rules if rule.conditions[0].expression is not None)
        build, _, engine = best_of(args.repeats, lambda rules=rules: RuleEngine(rules))
        elapsed, cpu, matches = best_of(args.repeats, lambda engine=engine: engine.match_batch(events))
        rate = len(events) / elapsed
        mean, unindexed = candidate_counts(engine, sample)
        print(
            f"{count:>7,}  {expressions:>5,}  {build * 1000:>9,.1f}  {rate:>10,.0f}  {len(events) / cpu:>10,.0f}  "
            f"{len(matches):>9,}  "
            f"{mean:>10,.1f}  {unindexed:>9,.1f}   {versus(count, rate)}"
        )
        if count == counts[-1]:
            print(f"         conditions by index path: {index_paths(engine)}")

    # The type-index-only engine is an order of magnitude slower: it runs on the evenly spread sample.
    count = counts[-1]
    rules = all_rules[:count]
    subset = events[:: max(1, len(events) // args.type_only_events)][: args.type_only_events]
    indexed_matches = RuleEngine(rules).match_batch(subset)
    build, _, engine = best_of(args.repeats, lambda: TypeIndexOnlyEngine(rules))
    elapsed, cpu, type_matches = best_of(args.repeats, lambda: engine.match_batch(subset))
    rate = len(subset) / elapsed
    mean, _ = candidate_counts(engine, sample)
    agree = "same" if sorted(type_matches) == sorted(indexed_matches) else "DIFFERENT"
    print(
        f"\ntype-index only (value index off), {count:,} rules, on {len(subset):,} of the events: "
        f"build {build * 1000:,.1f} ms, {rate:,.0f} events/s ({len(subset) / cpu:,.0f} by CPU time), "
        f"{len(type_matches):,} matches "
        f"({agree} as the indexed engine on them), {mean:,.1f} candidates/event; {versus(count, rate)}"
    )
    per_type = Counter(rule.conditions[0].event_type for rule in rules)
    busiest = ", ".join(f"{name} {per_type[name]:,}" for name, _ in types.most_common(3))
    print(
        f"rules on the busiest types: {busiest} (median per emitted type {statistics.median(per_type[t] for t in types):,.0f})"
    )
    if detection_counts:
        moments = [datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00")) for event in events]
        more, _ = factory.rules(max(detection_counts) - len(all_rules), args.expression_share)
        pool = [*all_rules, *(replace(rule, id=len(all_rules) + rule.id) for rule in more)]
        detection_table(pool, detection_counts, events, moments, factory.present, args.repeats)
    if args.db:
        from bench.rules_database import database_bench

        database_bench(
            factory=factory,
            rule_counts=detection_counts or [1_000],
            events=events[: args.db_events],
            learn_events=args.learn_events,
            learn_pool=events,
            detected=lambda rules: with_detections(rules, factory.present),
        )
    print(f"load average after: {load_average()} (events/s well below (cpu) ev/s: the machine was busy)")


if __name__ == "__main__":
    main()
