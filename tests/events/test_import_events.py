"""`manage.py import_events` and the streaming splitter under it (events.importer)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from django.core.management import CommandError, call_command

import events.importer
from events.importer import ImportFormatError, raw_events_split
from events.models import AuditEvent, EventType
from tests.factories import make_event

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_events", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def ndjson(*events: dict) -> str:
    return "".join(json.dumps(event) + "\n" for event in events)


def stored_ids() -> list[str]:
    return sorted(AuditEvent.objects.values_list("event_id", flat=True))


def split(data: bytes) -> list[tuple[int, bytes]]:
    return [(raw.line, raw.data) for raw in raw_events_split(io.BytesIO(data))]


# -- the command ----------------------------------------------------------------------


def test_ndjson_file_is_imported(tmp_path):
    path = write(tmp_path, "events.ndjson", ndjson(make_event(id="a"), make_event(id="b")))
    out, err = run(path)
    assert out == "accepted 2, duplicates 0, rejected 0"
    assert err == ""
    assert stored_ids() == ["a", "b"]


def test_pretty_printed_json_array_is_imported(tmp_path):
    events = [make_event(id="a"), make_event(id="b", nested={"list": [1, 2, {"x": "y"}]})]
    path = write(tmp_path, "events.json", json.dumps(events, indent=4))
    assert run(path)[0] == "accepted 2, duplicates 0, rejected 0"
    assert AuditEvent.objects.get(event_id="b").payload == events[1]


def test_compact_one_line_json_array_is_imported(tmp_path):
    events = [make_event(id=f"e{n}") for n in range(3)]
    path = write(tmp_path, "events.json", json.dumps(events, separators=(",", ":")))
    assert run(path)[0] == "accepted 3, duplicates 0, rejected 0"
    assert stored_ids() == ["e0", "e1", "e2"]


def test_strings_with_brackets_commas_quotes_and_backslashes_are_kept_intact(tmp_path):
    events = [make_event(id="tricky", message='a " [ , } \\', other="]},{"), make_event(id="after")]
    path = write(tmp_path, "events.json", json.dumps(events, indent=2))
    assert run(path)[0] == "accepted 2, duplicates 0, rejected 0"
    assert AuditEvent.objects.get(event_id="tricky").payload == events[0]


def test_unicode_is_imported_as_sent(tmp_path):
    event = make_event(id="uni", initiated_by={"email": "zoë@例え.jp"}, note="emoji 🔐 and ümlauts")
    path = write(tmp_path, "events.json", json.dumps([event], ensure_ascii=False))
    assert run(path)[0] == "accepted 1, duplicates 0, rejected 0"
    stored = AuditEvent.objects.get()
    assert stored.payload == event
    assert stored.initiator == "zoë@例え.jp"


def test_array_with_a_byte_order_mark_is_imported(tmp_path):
    path = write(tmp_path, "events.json", b"\xef\xbb\xbf" + orjson.dumps([make_event(id="bom")]))
    assert run(path)[0] == "accepted 1, duplicates 0, rejected 0"


def test_ndjson_with_a_byte_order_mark_is_imported(tmp_path):
    """Regression: the mark was stripped only to detect the format, and the first line was rejected."""
    path = write(tmp_path, "events.ndjson", b"\xef\xbb\xbf" + ndjson(make_event(id="a"), make_event(id="b")).encode())
    assert run(path)[0] == "accepted 2, duplicates 0, rejected 0"


def test_stdin_is_read_when_the_file_is_a_dash(monkeypatch):
    data = ndjson(make_event(id="from-stdin")).encode()
    monkeypatch.setattr("sys.stdin", SimpleNamespace(buffer=io.BytesIO(data)))
    assert run("-")[0] == "accepted 1, duplicates 0, rejected 0"
    assert stored_ids() == ["from-stdin"]


def test_rejected_events_are_reported_by_line_and_the_valid_ones_stored(tmp_path):
    lines = [
        json.dumps(make_event(id="ok-1")),
        "",
        json.dumps(make_event(id="bad-time", timestamp="yesterday")),
        "{not json}",
        json.dumps(make_event(id="ok-2")),
    ]
    path = write(tmp_path, "events.ndjson", "\n".join(lines) + "\n")
    out, err = run(path)
    assert out == "accepted 2, duplicates 0, rejected 2"
    assert "rejected line 3: timestamp:" in err
    assert "rejected line 4: Malformed JSON" in err
    assert stored_ids() == ["ok-1", "ok-2"]


def test_rejected_array_element_is_reported_with_the_line_it_starts_on(tmp_path):
    events = [make_event(id="ok"), make_event(id="no-type", event_type=...)]
    text = json.dumps(events, indent=2)
    second_line = text[: text.index('"no-type"')].count("\n") + 1
    start_line = text[: text.rindex("{", 0, text.index('"no-type"'))].count("\n") + 1
    assert start_line < second_line
    out, err = run(write(tmp_path, "events.json", text))
    assert out == "accepted 1, duplicates 0, rejected 1"
    assert f"rejected line {start_line}: event_type:" in err


def test_latin1_event_in_an_ndjson_file_is_rejected_naming_its_line_and_offset(tmp_path):
    bad = json.dumps(make_event(id="bad", name="José"), ensure_ascii=False) + "\n"
    content = (ndjson(make_event(id="ok-1")) + bad).encode("latin-1")
    offset = content.index(b"\xe9")
    out, err = run(write(tmp_path, "events.ndjson", content))
    assert out == "accepted 1, duplicates 0, rejected 1"
    assert f"rejected line 2: Not UTF-8: byte 0xE9 at byte offset {offset} (line 2)" in err
    assert stored_ids() == ["ok-1"]


def test_latin1_element_of_a_json_array_file_is_rejected_naming_its_line_and_offset(tmp_path):
    content = json.dumps([make_event(id="ok"), make_event(id="bad", name="Zoë")], indent=2, ensure_ascii=False)
    data = content.encode("latin-1")
    offset = data.index(b"\xeb")
    line = data[:offset].count(b"\n") + 1
    out, err = run(write(tmp_path, "events.json", data))
    assert out == "accepted 1, duplicates 0, rejected 1"
    assert f"Not UTF-8: byte 0xEB at byte offset {offset} (line {line})" in err


def test_integer_beyond_64_bits_is_rejected_naming_its_field(tmp_path):
    lines = [json.dumps(make_event(id="ok")), json.dumps(make_event(id="huge", details={"n": 2**70}))]
    out, err = run(write(tmp_path, "events.ndjson", "\n".join(lines) + "\n"))
    assert out == "accepted 1, duplicates 0, rejected 1"
    assert "rejected line 2: details.n: Integer out of range" in err


def test_importing_twice_is_idempotent(tmp_path):
    path = write(tmp_path, "events.ndjson", ndjson(*[make_event(id=f"e{n}") for n in range(3)]))
    run(path)
    assert run(path)[0] == "accepted 0, duplicates 3, rejected 0"
    assert AuditEvent.objects.count() == 3


def test_small_batches_import_every_event(tmp_path):
    path = write(tmp_path, "events.ndjson", ndjson(*[make_event(id=f"e{n}") for n in range(5)]))
    assert run(path, "--batch-size", "2")[0] == "accepted 5, duplicates 0, rejected 0"
    assert stored_ids() == [f"e{n}" for n in range(5)]


def test_escaped_quote_at_the_real_chunk_boundary_is_imported(tmp_path):
    """Regression: a 1 MiB read ending right after `\\"` made the scanner leave the string early."""
    fillers = [make_event(id=f"fill{n}", blob="x" * 200_000) for n in range(4)]
    head = orjson.dumps(fillers)[:-1] + b"," + orjson.dumps(make_event(id="cut", message="@"))[:-1]
    head = head[: head.rindex(b"@")]  # ends inside the message string
    pad = b"p" * (events.importer.CHUNK_BYTES - len(head) - 2)
    data = head + pad + b'\\" [ , } \\\\"}]'
    assert data[: events.importer.CHUNK_BYTES].endswith(b'\\"')
    assert len(orjson.loads(data)) == 5  # valid JSON
    assert run(write(tmp_path, "big.json", data))[0] == "accepted 5, duplicates 0, rejected 0"
    assert AuditEvent.objects.get(event_id="cut").payload["message"].endswith('" [ , } \\')


def test_unknown_event_type_in_an_import_joins_the_catalog(tmp_path):
    run(write(tmp_path, "events.ndjson", ndjson(make_event(event_type="imported_kind"))))
    assert EventType.objects.get(name="imported_kind").known is False


def test_missing_file_raises_command_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run(str(tmp_path / "nope.json"))


@pytest.mark.parametrize("size", ["0", "10001"])
def test_batch_size_out_of_range_raises_command_error(tmp_path, size):
    with pytest.raises(CommandError, match="batch-size"):
        run(write(tmp_path, "e.ndjson", ndjson(make_event())), "--batch-size", size)


def test_unclosed_array_raises_command_error_naming_the_line(tmp_path):
    text = "[\n" + json.dumps(make_event(id="a")) + ",\n" + json.dumps(make_event(id="b"))
    with pytest.raises(CommandError, match=r"broken.json: line 3: the JSON array is not closed"):
        run(write(tmp_path, "broken.json", text))


def test_empty_element_raises_command_error_naming_the_line(tmp_path):
    text = "[\n" + json.dumps(make_event(id="a")) + ",\n" + json.dumps(make_event(id="b")) + ",,\n]"
    with pytest.raises(CommandError, match=r"line 3: empty element"):
        run(write(tmp_path, "broken.json", text))


# -- the splitter, with chunk boundaries everywhere -----------------------------------

PRETTY = (
    b"[\n"
    b'  {"id": "first", "text": "a \\" [ , } \\\\"},\n'
    b"\n"
    b'  {"id": "second", "list": [1, [2, {"k": "]"}]], "u": "\xc3\xbc\\u00e9"},\n'
    b'  {"id": "third"}\n'
    b"]\n"
)
PRETTY_ELEMENTS = [
    (2, b'{"id": "first", "text": "a \\" [ , } \\\\"}'),
    (4, b'{"id": "second", "list": [1, [2, {"k": "]"}]], "u": "\xc3\xbc\\u00e9"}'),
    (5, b'{"id": "third"}'),
]
# File offset just past the `\"` inside the first string: a chunk size dividing it cuts the string there.
AFTER_ESCAPED_QUOTE = PRETTY.index(b'\\"') + 2


def test_splitter_finds_elements_and_lines_with_one_big_chunk():
    assert split(PRETTY) == PRETTY_ELEMENTS
    assert orjson.loads(PRETTY_ELEMENTS[0][1])["text"] == 'a " [ , } \\'


@pytest.mark.parametrize("chunk", [2, 4, 5, 7, 13])
def test_splitter_is_exact_when_chunks_cut_tokens_but_no_escaped_quote(monkeypatch, chunk):
    assert AFTER_ESCAPED_QUOTE % chunk != 0  # that cut is the next test
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    assert split(PRETTY) == PRETTY_ELEMENTS


@pytest.mark.parametrize("chunk", [1, 3, 11, 33])
def test_splitter_is_exact_when_a_chunk_ends_right_after_an_escaped_quote(monkeypatch, chunk):
    """Regression: the cut token ended with a quote and was taken for a whole string."""
    assert AFTER_ESCAPED_QUOTE % chunk == 0
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    assert split(PRETTY) == PRETTY_ELEMENTS


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_splitter_reads_ndjson_lines_across_chunks(monkeypatch, chunk):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    data = b'{"id": "a", "s": "x\\"y"}\n\n{"id": "b"}\r\n{"id": "c"}'
    assert split(data) == [(1, b'{"id": "a", "s": "x\\"y"}'), (3, b'{"id": "b"}\r'), (4, b'{"id": "c"}')]


@pytest.mark.parametrize("chunk", [1, 3, 7])
def test_splitter_reports_the_line_of_an_unclosed_array(monkeypatch, chunk):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    with pytest.raises(ImportFormatError) as excinfo:
        split(b'[\n{"id": "a"},\n{"id": "b"}\n\n')
    assert excinfo.value.line == 5  # where the file ends


@pytest.mark.parametrize("chunk", [1, 7])
def test_splitter_reports_the_line_of_an_unterminated_string(monkeypatch, chunk):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    with pytest.raises(ImportFormatError, match="not closed"):
        split(b'[\n{"id": "a"},\n{"id": "b\n')


def test_splitter_offsets_grow_to_the_end_of_each_element(monkeypatch):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", 5)
    data = b'[{"id":"a"},{"id":"b"}]'
    offsets = [raw.offset_end for raw in raw_events_split(io.BytesIO(data))]
    assert offsets == [data.index(b",") + 1, len(data)]


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_splitter_gives_the_file_offset_where_each_element_starts(monkeypatch, chunk):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", chunk)
    for data in (PRETTY, b'{"id": "a"}\n\n  {"id": "b"}\n{"id": "c"}'):
        for raw in raw_events_split(io.BytesIO(data)):
            assert data[raw.offset : raw.offset + len(raw.data)] == raw.data


def test_splitter_detects_an_array_after_more_whitespace_than_one_chunk(monkeypatch):
    monkeypatch.setattr(events.importer, "CHUNK_BYTES", 7)
    assert split(b"\n" * 10 + b'[{"id": "a"},\n{"id": "b"}]') == [(11, b'{"id": "a"}'), (12, b'{"id": "b"}')]
