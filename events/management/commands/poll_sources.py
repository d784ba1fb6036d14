"""`manage.py poll_sources [--once] [--source ID]`: poll Directory Insights sources from cron or a shell.

Without --once it keeps polling each source when it is due (as the scheduler would); with
--once it polls every enabled source until its backlog is drained, then exits (cron). A
progress bar per source shows how far the backfill has come and how many events were stored.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from events.sources.config import SourceConfig
from events.sources.models import Source, SourceCursor
from events.sources.poller import PollResult, source_poll
from events.sources.tasks import sources_due

ROUND_SECONDS = 60.0


class Command(BaseCommand):
    help = "Poll Directory Insights sources: every enabled one, or --source ID (also when paused)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Drain each source's backlog once, then exit.")
        parser.add_argument("--source", type=int, help="Poll only this source (by id), even if paused or stopped.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bars.")

    def handle(self, *args, once: bool, source: int | None, no_progress: bool, **options) -> None:
        if source is not None and not Source.objects.filter(pk=source).exists():
            raise CommandError(f"No source with id {source}.")
        self.no_progress = no_progress
        failed = False
        while True:
            ids = [source] if source is not None else self._ids(once)
            for source_id in ids:
                failed |= not self._drain(source_id, manual=source is not None or once)
            if once or source is not None:
                break
            time.sleep(self._sleep())
        if failed:
            raise CommandError("At least one source failed; see its last error above or in the console.")

    def _ids(self, once: bool) -> list[int]:
        if once:
            return list(Source.objects.filter(enabled=True, stopped=False).values_list("pk", flat=True))
        return sources_due()

    def _sleep(self) -> float:
        upcoming = Source.objects.filter(enabled=True, stopped=False).order_by("next_poll_at").first()
        if upcoming is None or upcoming.next_poll_at is None:
            return 5.0
        return max(1.0, min(60.0, (upcoming.next_poll_at - timezone.now()).total_seconds()))

    def _drain(self, source_id: int, *, manual: bool) -> bool:
        """Poll one source until its backlog is gone; False when it failed."""
        source = Source.objects.get(pk=source_id)
        config = SourceConfig.from_stored(source.config)
        span = max(1.0, (timezone.now() - config.start_time).total_seconds())
        bar = tqdm(total=round(span), unit="s", desc=source.name[:30], disable=self.no_progress, file=sys.stderr)
        totals = PollResult()

        def progress(org: str, result: PollResult, cursor: SourceCursor) -> None:
            self._advance(bar, config.start_time, cursor.checkpoint)
            bar.set_postfix(events=totals.accepted + result.accepted, refresh=False)

        try:
            while True:
                result = source_poll(source_id, max_seconds=ROUND_SECONDS, manual=manual, progress=progress)
                if result.busy:
                    self.stderr.write(f"{source.name}: another poll is running; skipped.")
                    return True
                for field in ("pages", "fetched", "accepted", "duplicates", "skipped"):
                    setattr(totals, field, getattr(totals, field) + getattr(result, field))
                if result.error or not result.more:
                    break
        finally:
            if not result.error and not result.more:
                bar.update(bar.total - bar.n)
            bar.close()
        line = (
            f"{source.name}: {totals.pages} pages, {totals.fetched} fetched, {totals.accepted} new, "
            f"{totals.duplicates} duplicates, {totals.skipped} skipped"
        )
        if result.error:
            self.stderr.write(f"{line}; failed: {result.error}")
            return False
        self.stdout.write(line)
        return True

    @staticmethod
    def _advance(bar: tqdm, start: datetime, checkpoint: datetime | None) -> None:
        if checkpoint is not None:
            done = min(bar.total, round((checkpoint - start).total_seconds()))
            if done > bar.n:
                bar.update(done - bar.n)
