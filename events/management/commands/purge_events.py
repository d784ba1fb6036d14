"""`manage.py purge_events`: the daily retention purge, by hand (a first purge of a big log, a shorter period)."""

from __future__ import annotations

import sys
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from events.models import AuditEvent
from events.services import event_retention_purge


class Command(BaseCommand):
    help = (
        "Delete events older than ALERTSITE_EVENT_RETENTION_DAYS (or --days) in short transactions, "
        "keeping those an unresolved alert points at."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Retention in days (default: the setting).")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Events per transaction (default ALERTSITE_RETENTION_BATCH_SIZE).",
        )
        parser.add_argument(
            "--duty-cycle",
            type=float,
            default=None,
            help="Share of the time spent deleting, resting in between (default ALERTSITE_RETENTION_DUTY_CYCLE; 1 = flat out).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(
        self,
        *args,
        days: int | None,
        batch_size: int | None,
        duty_cycle: float | None,
        no_progress: bool,
        **options,
    ) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        if batch_size is not None and not 1 <= batch_size <= 100_000:
            raise CommandError("--batch-size must be between 1 and 100000.")
        if duty_cycle is not None and not 0 < duty_cycle <= 1:
            raise CommandError("--duty-cycle must be more than 0 and at most 1.")
        total = None
        if not no_progress:  # an upper bound: guarded events are counted but kept
            cutoff = timezone.now() - timedelta(days=settings.ALERTSITE_EVENT_RETENTION_DAYS if days is None else days)
            total = AuditEvent.objects.filter(timestamp__lt=cutoff).count()
        bar = tqdm(total=total, unit=" events", desc="purge", disable=no_progress, file=sys.stderr)
        done = 0

        def progress(deleted: int) -> None:
            nonlocal done
            bar.update(deleted - done)
            done = deleted

        try:
            result = event_retention_purge(
                days=days, batch_size=batch_size, on_progress=progress, duty_cycle=duty_cycle
            )
        finally:
            bar.close()
        self.stdout.write(
            f"deleted {result.deleted} events older than {result.cutoff:%Y-%m-%d %H:%M:%S} UTC, "
            f"kept {result.kept} that unresolved alerts point at"
        )
