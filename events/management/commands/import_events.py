"""`manage.py import_events FILE`: stream a JSON array or NDJSON file (or `-` for stdin) into the log."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from events.importer import ImportFormatError, events_import
from events.validation import EventError


class Command(BaseCommand):
    help = "Import events from a JSON array or NDJSON file ('-' reads stdin). Idempotent on the event id."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path to a .json (array) or .ndjson file, or - for stdin.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Events per transaction (default 1000).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, file: str, batch_size: int, no_progress: bool, **options) -> None:
        if batch_size < 1 or batch_size > 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        if file == "-":
            stream, total = sys.stdin.buffer, None
        else:
            try:
                stream, total = open(file, "rb"), os.path.getsize(file)
            except OSError as exc:
                raise CommandError(f"Cannot read {file}: {exc.strerror}") from exc
        bar = tqdm(total=total, unit="B", unit_scale=True, desc="import", disable=no_progress, file=sys.stderr)
        seen = 0

        def progress(offset: int) -> None:
            nonlocal seen
            bar.update(offset - seen)
            seen = offset

        def reject(error: EventError) -> None:
            where = f"line {error.line}" if error.line is not None else f"event {error.index}"
            field = f" {error.field}:" if error.field else ""
            bar.write(f"rejected {where}:{field} {error.message}", file=self.stderr._out)

        try:
            result = events_import(stream, batch_size=batch_size, on_progress=progress, on_reject=reject)
        except ImportFormatError as exc:
            raise CommandError(f"{file}: {exc}") from exc
        finally:
            bar.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        self.stdout.write(f"accepted {result.accepted}, duplicates {result.duplicates}, rejected {result.rejected}")
