"""Stream events from a file (JSON array or NDJSON) into the log in batches.

A 1 GB export must never sit in memory: the file is read in chunks, a JSON array is
split into its elements by a small scanner (C-speed regular expressions find strings,
brackets and top-level commas), and events are ingested 1,000 at a time. Unlike the API,
which rejects a whole request, an import keeps going and reports each rejected event
with its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from events.services import ORIGIN_IMPORT, event_batch_ingest
from events.validation import (
    EventError,
    EventRecord,
    LimitExceeded,
    Limits,
    event_validate,
    json_loads_exact,
    utf8_check,
)

CHUNK_BYTES = 1 << 20
# A string token (group 1 is set only when its closing quote was seen: a chunk may cut
# it anywhere, even right after an escaped quote), or a structural character.
_INNER = re.compile(rb'"(?:[^"\\]|\\.)*(")?|[\[\]{}]')
_TOP = re.compile(rb'"(?:[^"\\]|\\.)*(")?|[\[\]{},]')


class ImportFormatError(Exception):
    """The file is neither a JSON array nor NDJSON past some point."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True, slots=True)
class RawEvent:
    line: int
    data: bytes
    offset_end: int  # bytes of the file consumed up to the end of this event
    offset: int = 0  # where `data` starts in the file


def raw_events_split(stream: BinaryIO) -> Iterator[RawEvent]:
    """Yield each event's raw bytes and starting line, from a JSON array or NDJSON stream."""
    head = stream.read(CHUNK_BYTES)
    while head and not head.strip():
        # Only whitespace so far: read on until the first byte that tells the format.
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        head += more
    if head.startswith(b"\xef\xbb\xbf"):
        head = b" " * 3 + head[3:]  # a UTF-8 byte order mark: blank it, keeping byte offsets
    if head.lstrip().startswith(b"["):
        yield from _split_array(stream, head)
    else:
        yield from _split_lines(stream, head)


def _split_lines(stream: BinaryIO, head: bytes) -> Iterator[RawEvent]:
    buffer, line, consumed = head, 1, 0
    while True:
        *complete, buffer = buffer.split(b"\n")
        for raw in complete:
            start = consumed
            consumed += len(raw) + 1
            if raw.strip():
                yield RawEvent(line, raw, consumed, start)
            line += 1
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        buffer += chunk
    if buffer.strip():
        yield RawEvent(line, buffer, consumed + len(buffer), consumed)


def _split_array(stream: BinaryIO, head: bytes) -> Iterator[RawEvent]:
    buffer = head
    dropped = 0  # bytes removed from the front of `buffer`
    lines_dropped = 0  # newlines in those bytes
    pos = buffer.index(b"[") + 1
    depth = 1
    start = pos  # where the current element starts
    eof = False
    while True:
        pattern = _TOP if depth == 1 else _INNER
        match = pattern.search(buffer, pos)
        token = match.group() if match else b""
        incomplete = match is None or (token[:1] == b'"' and match.group(1) is None)
        if incomplete and not eof:
            # Keep the unfinished element, drop what is done, read on, rescan the cut token.
            resume = match.start() if match is not None else len(buffer)
            lines_dropped += buffer.count(b"\n", 0, start)
            dropped += start
            buffer = buffer[start:]
            pos = resume - start
            start = 0
            chunk = stream.read(CHUNK_BYTES)
            if chunk:
                buffer += chunk
            else:
                eof = True
            continue
        if match is None or incomplete:
            line = lines_dropped + buffer.count(b"\n", 0, min(pos, len(buffer))) + 1
            raise ImportFormatError("the JSON array is not closed (unexpected end of file)", line)
        pos = match.end()
        if token in (b"{", b"["):
            depth += 1
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 0:
                element = buffer[start : match.start()]
                if element.strip():
                    yield _raw(buffer, start, element, lines_dropped, dropped, dropped + match.end())
                return
        elif token == b",":
            element = buffer[start : match.start()]
            line = lines_dropped + buffer.count(b"\n", 0, start) + 1
            if not element.strip():
                raise ImportFormatError("empty element in the JSON array (two commas in a row?)", line)
            yield _raw(buffer, start, element, lines_dropped, dropped, dropped + match.end())
            start = pos


def _raw(buffer: bytes, start: int, element: bytes, lines_dropped: int, dropped: int, offset_end: int) -> RawEvent:
    leading = len(element) - len(element.lstrip())
    line = lines_dropped + buffer.count(b"\n", 0, start + leading) + 1
    return RawEvent(line, element.strip(), offset_end, dropped + start + leading)


@dataclass
class ImportResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[EventError] = field(default_factory=list)


def events_import(
    stream: BinaryIO,
    *,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
    on_reject: Callable[[EventError], None] | None = None,
) -> ImportResult:
    """Ingest every valid event of `stream`; report each invalid one with its line. Idempotent."""
    limits = Limits.from_settings()
    result = ImportResult()
    batch: list[EventRecord] = []

    def reject(error: EventError) -> None:
        result.rejected += 1
        result.rejections.append(error)
        if on_reject:
            on_reject(error)

    def flush(offset: int) -> None:
        if batch:
            ingested = event_batch_ingest(records=batch, origin=ORIGIN_IMPORT)
            result.accepted += ingested.accepted
            result.duplicates += ingested.duplicates
            batch.clear()
        if on_progress:
            on_progress(offset)

    index = 0
    offset = 0
    for raw in raw_events_split(stream):
        offset = raw.offset_end
        try:
            event = json_loads_exact(raw.data)
        except orjson.JSONDecodeError as exc:
            not_utf8 = utf8_check(raw.data, offset=raw.offset, line=raw.line)
            if not_utf8 is not None:
                message = f"Not UTF-8: {not_utf8.describe()}; re-encode the file as UTF-8"
                reject(EventError(index, None, message, not_utf8.line))
            else:
                reject(EventError(index, None, f"Malformed JSON: {exc.msg}", raw.line))
            index += 1
            continue
        try:
            record = event_validate(event, index=index, limits=limits, line=raw.line)
        except LimitExceeded as exc:
            reject(exc.error)
            index += 1
            continue
        if isinstance(record, list):
            result.rejected += 1
            result.rejections.extend(record)
            for error in record:
                if on_reject:
                    on_reject(error)
        else:
            batch.append(record)
            if len(batch) >= batch_size:
                flush(offset)
        index += 1
    flush(offset)
    return result
