"""Polling one source: page through the vendor's events exactly per its paging rules (api.md §8).

- Each organisation is paged on its own from its checkpoint minus the overlap, sorted ASC,
  `search_after` from `X-Search_after`, until `X-Result-Count` is less than `X-Limit`.
- Each page is stored through the same ingestion service as the push API, in one transaction
  with the organisation's new checkpoint and the renewal of the poll's lease: a crash between
  pages repeats at most the overlap, and the event ids absorb what is fetched twice.
- A poller cannot reject the vendor's page: rows that fail validation are skipped and counted.
- Failures back off (Retry-After, else exponentially); refusals (401/403/4xx) stop the source.
  Starting to fail and recovering are recorded as events, so rules can watch the feed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from events.services import AUDIT_SERVICE, audit_event_record, event_batch_ingest, source_origin
from events.sources.client import DirectoryInsightsClient, Page, VendorError, VendorRefused, VendorUnavailable
from events.sources.config import DEFAULT_ORG, SourceConfig, iso
from events.sources.models import Source, SourceCursor
from events.validation import EventRecord, LimitExceeded, Limits, event_validate

logger = logging.getLogger(__name__)

# Full pages in a row that move neither search_after nor the checkpoint before we give up.
MAX_STALLED_PAGES = 3


class LeaseLost(Exception):
    """Another poll took the source over (ours outlived its lease): stop without writing."""


@dataclass(slots=True)
class PollResult:
    pages: int = 0
    fetched: int = 0
    accepted: int = 0
    duplicates: int = 0
    skipped: int = 0
    more: bool = False
    busy: bool = False
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "fetched": self.fetched,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "more": self.more,
            "error": self.error,
        }


@dataclass(slots=True)
class PageOutcome:
    records: list[EventRecord]
    skipped: int
    newest: datetime | None
    problems: list[str] = field(default_factory=list)


Progress = Callable[[str, PollResult, "SourceCursor"], None]


def page_records(rows: list[Any], *, org: str, limits: Limits) -> PageOutcome:
    """Validate the vendor's rows one by one: the good ones become records, the others are counted."""
    records: list[EventRecord] = []
    skipped = 0
    problems: list[str] = []
    newest: datetime | None = None
    for index, row in enumerate(rows):
        if isinstance(row, dict) and org != DEFAULT_ORG and "organization" not in row:
            row["organization"] = org  # keep which organisation it came from (x-org-id filtering)
        try:
            result = event_validate(row, index=index, limits=limits)
        except LimitExceeded as exc:
            result = [exc.error]
        if isinstance(result, list):
            skipped += 1
            if len(problems) < 3:
                problems.append("; ".join(f"{e.field or 'event'}: {e.message}" for e in result))
            continue
        records.append(result)
        if newest is None or result.timestamp > newest:
            newest = result.timestamp
    return PageOutcome(records=records, skipped=skipped, newest=newest, problems=problems)


def lease_free(now: datetime) -> Q:
    """No poll holds the source (none ever did, or its lease lapsed)."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def poll_due(now: datetime) -> Q:
    """The scheduler may poll it: enabled, not stopped by a refusal, its interval or backoff over."""
    return Q(enabled=True, stopped=False) & (Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))


def lease_claim(source_id: int, *, manual: bool, now: datetime | None = None) -> str | None:
    """Take the source for one poll, unless another poll holds it. A scheduled poll also needs it due."""
    now = now or timezone.now()
    owner = uuid.uuid4().hex
    claim = Source.objects.filter(lease_free(now), pk=source_id)
    if not manual:
        claim = claim.filter(poll_due(now))
    lease = timedelta(seconds=settings.ALERTSITE_SOURCE_LEASE_SECONDS)
    return owner if claim.update(lease_owner=owner, lease_until=now + lease) else None


def _lease_renew(source_id: int, owner: str, **changes: Any) -> None:
    lease = timedelta(seconds=settings.ALERTSITE_SOURCE_LEASE_SECONDS)
    if not Source.objects.filter(pk=source_id, lease_owner=owner).update(lease_until=timezone.now() + lease, **changes):
        raise LeaseLost()


def backoff_seconds(failures: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, settings.ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS)
    base = settings.ALERTSITE_SOURCE_BACKOFF_SECONDS
    return min(base * 2 ** max(0, failures - 1), settings.ALERTSITE_SOURCE_BACKOFF_MAX_SECONDS)


class SourcePoll:
    """One run of one source, holding its lease."""

    def __init__(self, source: Source, owner: str, *, deadline: float, progress: Progress | None = None) -> None:
        self.source = source
        self.owner = owner
        self.deadline = deadline
        self.progress = progress
        self.config = SourceConfig.from_stored(source.config)
        self.api_key = self.config.api_key  # opened here: a key that cannot be opened fails the poll at once
        self.result = PollResult()
        self.limits = Limits.from_settings()
        # Fetches the next page while this one is stored (the vendor's answer and our write overlap).
        self.ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-prefetch")

    def run(self) -> PollResult:
        with DirectoryInsightsClient(
            base_url=self.config.base_url,
            api_key=self.api_key,
            timeout=self.config.timeout_seconds,
            allow_private=settings.ALERTSITE_SOURCE_ALLOW_PRIVATE,
        ) as client:
            with self.ahead:
                for cursor in self._cursors():
                    if not self._org_poll(client, cursor):
                        self.result.more = True
                        break
        return self.result

    def _cursors(self) -> list[SourceCursor]:
        """The organisations in the order this run pages them: those caught up first (a page or
        two each keeps their events fresh), then the backfills, furthest behind first. A run stops
        at its deadline, so a long backfill of one organisation must not starve the others."""
        cursors = [SourceCursor.objects.get_or_create(source=self.source, org=org)[0] for org in self.config.orgs]
        caught_up = [cursor for cursor in cursors if cursor.backfill_done]
        behind = sorted(
            (cursor for cursor in cursors if not cursor.backfill_done),
            key=lambda cursor: cursor.checkpoint or self.config.start_time,
        )
        return caught_up + behind

    def _org_poll(self, client: DirectoryInsightsClient, cursor: SourceCursor) -> bool:
        """Page one organisation until the vendor has nothing more; False when the deadline came first.

        A round cut short by the deadline (or a crash) leaves where it was in the cursor
        (`resume_start`, `resume_after`), so the next round goes on from the last stored page
        instead of starting again at the checkpoint minus the overlap (which, on a backfill
        whose overlap holds more events than a round pulls, would never get further).
        """
        start: datetime = cursor.resume_start or self._start_time(cursor)
        search_after: list[Any] | None = cursor.resume_after if cursor.resume_start is not None else None
        resumed = cursor.resume_start is not None
        stalled = 0
        org = None if cursor.org == DEFAULT_ORG else cursor.org
        upcoming: Future[Page] | None = None
        while True:
            try:
                if upcoming is not None:
                    page, upcoming = upcoming.result(), None
                else:
                    page = client.events_page(self._body(start, search_after), org=org)
            except VendorRefused as exc:
                if resumed and exc.status_code == 400:
                    # The vendor no longer takes where we were: start again from the checkpoint.
                    start, search_after, resumed = self._start_time(cursor), None, False
                    continue
                raise
            resumed = False
            outcome = page_records(page.rows, org=cursor.org, limits=self.limits)
            done = page.result_count < (page.limit or self.config.page_limit)
            if done:
                self._page_store(page, outcome, cursor, resume=None, last=True)
                return True
            newest = max(filter(None, (cursor.checkpoint, outcome.newest)), default=None)
            if page.search_after is not None and page.search_after != search_after:
                search_after, stalled = page.search_after, 0
            elif page.search_after is None and newest is not None and newest > start:
                # No X-Search_after: go on from the newest timestamp stored (ids absorb the repeats).
                start, search_after, stalled = newest, None, 0
            else:
                stalled += 1
                if stalled >= MAX_STALLED_PAGES:
                    why = "without X-Search_after" if page.search_after is None else "with the same X-Search_after"
                    raise VendorUnavailable(
                        f"The vendor answered {stalled} full pages in a row {why} that did not move on; "
                        "paging cannot continue."
                    )
            if time.monotonic() < self.deadline:
                # The next request is known already: fetch it while this page is stored. The
                # connection is the prefetch's alone until its result is taken.
                upcoming = self.ahead.submit(client.events_page, self._body(start, search_after), org=org)
            self._page_store(page, outcome, cursor, resume=(start, search_after))
            if time.monotonic() >= self.deadline:
                if upcoming is not None:
                    upcoming.cancel()  # if already running, it ends with the executor; next round fetches it again
                return False

    def _body(self, start: datetime, search_after: list[Any] | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "service": list(self.config.services),
            "start_time": iso(start),
            "sort": "ASC",
            "limit": self.config.page_limit,
        }
        if search_after is not None:
            body["search_after"] = search_after
        return body

    def _start_time(self, cursor: SourceCursor) -> datetime:
        if cursor.checkpoint is None:
            return self.config.start_time
        return max(self.config.start_time, cursor.checkpoint - timedelta(seconds=self.config.overlap_seconds))

    def _page_store(
        self,
        page: Page,
        outcome: PageOutcome,
        cursor: SourceCursor,
        *,
        resume: tuple[datetime, list[Any] | None] | None,
        last: bool = False,
    ) -> None:
        """Store a page with the cursor's new checkpoint, where to go on from (and, on the last
        page, the end of its backfill) and the renewal of the lease, in one transaction."""
        # Never a checkpoint after now: one row dated in the future (a vendor clock gone wrong)
        # would make every later poll start there and miss everything logged meanwhile.
        newest = None if outcome.newest is None else min(outcome.newest, timezone.now())
        with transaction.atomic():
            changes: dict[str, Any] = {"skipped": F("skipped") + outcome.skipped}
            if newest is not None and (self.source.newest_event_at is None or newest > self.source.newest_event_at):
                changes["newest_event_at"] = self.source.newest_event_at = newest
            _lease_renew(self.source.pk, self.owner, **changes)
            ingested = (
                event_batch_ingest(records=outcome.records, origin=source_origin(self.source.pk))
                if outcome.records
                else None
            )
            accepted = ingested.accepted if ingested else 0
            if accepted:
                Source.objects.filter(pk=self.source.pk).update(events_ingested=F("events_ingested") + accepted)
            if newest is not None and (cursor.checkpoint is None or newest > cursor.checkpoint):
                cursor.checkpoint = newest
            cursor.events_ingested += accepted
            cursor.resume_start, cursor.resume_after = resume if resume is not None else (None, None)
            cursor.backfill_done = cursor.backfill_done or last
            cursor.save(
                update_fields=["checkpoint", "events_ingested", "resume_start", "resume_after", "backfill_done"]
            )
        if outcome.problems:
            logger.warning(
                "source skipped invalid vendor rows",
                extra={
                    "source": self.source.pk,
                    "org": cursor.org,
                    "skipped": outcome.skipped,
                    "why": outcome.problems,
                },
            )
        result = self.result
        result.pages += 1
        result.fetched += len(page.rows)
        result.accepted += accepted
        result.duplicates += len(outcome.records) - accepted
        result.skipped += outcome.skipped
        if self.progress is not None:
            self.progress(cursor.org, result, cursor)


def source_poll(
    source_id: int, *, max_seconds: float, manual: bool = False, progress: Progress | None = None
) -> PollResult:
    """Poll a source once (for at most about `max_seconds`); `busy` when another poll holds it."""
    owner = lease_claim(source_id, manual=manual)
    if owner is None:
        return PollResult(busy=True)
    source = Source.objects.get(pk=source_id)
    try:
        poll = SourcePoll(source, owner, deadline=time.monotonic() + max_seconds, progress=progress)
    except Exception as exc:  # the stored config cannot be read: fail visibly and free the lease
        if isinstance(exc, ImproperlyConfigured):
            message = (
                f"The source's API key cannot be opened: {exc} Enter the key again "
                "(or add the previous encryption key to ALERTSITE_ENCRYPTION_KEYS_OLD)."
            )
        else:
            logger.exception("source config unreadable", extra={"source": source_id})
            message = f"Internal error reading the source's config: {type(exc).__name__}"
        _failure_record(source_id, owner, VendorUnavailable(message))
        return PollResult(error=message)
    try:
        result = poll.run()
    except LeaseLost:
        logger.warning("source poll lost its lease (source changed or taken over)", extra={"source": source_id})
        poll.result.error = "The source was changed, or another poll took it over, while this poll ran."
        return poll.result
    except VendorError as exc:
        poll.result.error = str(exc)
        _failure_record(source_id, owner, exc)
        return poll.result
    except Exception as exc:
        logger.exception("source poll failed", extra={"source": source_id})
        poll.result.error = f"Internal error: {type(exc).__name__}: {exc}"
        _failure_record(source_id, owner, VendorUnavailable(poll.result.error))
        return poll.result
    _success_record(source_id, owner, more=result.more, interval=poll.config.poll_interval_seconds)
    return result


def _source_resource(source: Source) -> dict[str, Any]:
    return {"type": "insights_source", "id": str(source.pk), "name": source.name}


def _success_record(source_id: int, owner: str, *, more: bool, interval: int) -> None:
    now = timezone.now()
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source_id)
        if source.lease_owner != owner:
            return
        recovered = source.failing
        source.failing = source.stopped = False
        source.consecutive_failures = 0
        source.last_error = ""
        source.last_run_at = source.last_success_at = now
        source.next_poll_at = now if more else now + timedelta(seconds=interval)
        source.lease_owner, source.lease_until = "", None
        source.save(
            update_fields=[
                "failing",
                "stopped",
                "consecutive_failures",
                "last_error",
                "last_run_at",
                "last_success_at",
                "next_poll_at",
                "lease_owner",
                "lease_until",
            ]
        )
        if recovered:
            audit_event_record(
                event_type="insights_source_recovered",
                service=AUDIT_SERVICE,
                initiated_by={"type": "system", "id": "alertsite"},
                resource=_source_resource(source),
                extra={"source": {"id": source.pk, "name": source.name, "kind": source.kind}},
            )


def _failure_record(source_id: int, owner: str, error: VendorError) -> None:
    now = timezone.now()
    refused = isinstance(error, VendorRefused)
    with transaction.atomic():
        source = Source.objects.select_for_update().get(pk=source_id)
        if source.lease_owner != owner:
            return
        was_failing = source.failing
        source.consecutive_failures += 1
        source.last_error = str(error)[:2000]
        source.last_run_at = now
        source.stopped = refused
        # Failing until a poll succeeds: a passing 5xx after a refusal must not clear it unseen.
        # Throttling (429) backs off like any failure but never makes a source failing: the
        # vendor is answering, only asking us to slow down.
        throttled = error.status_code == 429
        source.failing = (
            was_failing
            or refused
            or (not throttled and source.consecutive_failures >= settings.ALERTSITE_SOURCE_FAILING_AFTER)
        )
        wait = backoff_seconds(source.consecutive_failures, error.retry_after)
        source.next_poll_at = now + timedelta(seconds=wait)
        source.lease_owner, source.lease_until = "", None
        source.save(
            update_fields=[
                "consecutive_failures",
                "last_error",
                "last_run_at",
                "stopped",
                "failing",
                "next_poll_at",
                "lease_owner",
                "lease_until",
            ]
        )
        if source.failing and not was_failing:
            audit_event_record(
                event_type="insights_source_failed",
                service=AUDIT_SERVICE,
                initiated_by={"type": "system", "id": "alertsite"},
                resource=_source_resource(source),
                success=False,
                extra={
                    "source": {"id": source.pk, "name": source.name, "kind": source.kind},
                    "error_message": source.last_error,
                    "status_code": error.status_code,
                    "consecutive_failures": source.consecutive_failures,
                },
            )
    logger.warning(
        "source poll failed",
        extra={"source": source_id, "error": str(error), "status_code": error.status_code, "refused": refused},
    )
