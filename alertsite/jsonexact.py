"""Decoding JSON with orjson's speed and the standard library's exact integers.

orjson silently turns an integer outside the 64-bit range (-2**63 .. 2**64 - 1) into a float; the
standard library keeps it exact but decodes several times slower. `json_loads_exact` takes orjson's
answer unless the document may hold such an integer, found by a cheap scan first.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# orjson silently turns an integer outside the 64-bit range (-2**63 .. 2**64 - 1) into a float. Such an
# integer is a run of at least 19 digits that is not part of a fraction or exponent, so only a document
# holding one gets a second, exact look.
LONG_INTEGER_RE = re.compile(rb"(?<![\d.])\d{19,}(?![\d.eE])")
# json_loads_exact decodes a document again the slow way (the standard library) when it may hold
# an integer orjson cannot keep exact. The regex that finds one scans ~40 MB/s, as slow as orjson's
# own decoding; so first every digit becomes "1" and every other byte "0", each run of 19 digits is
# a plain `bytes.find` (~1 ms a megabyte), and only a run where a JSON number can start (after "-",
# ":", "[", "," or blank) goes on to the regex: most runs are inside strings (an all-digit id).
_DIGIT_MAP = bytes(0x31 if 0x30 <= byte <= 0x39 else 0x30 for byte in range(256))
_LONG_DIGIT_RUN = b"1" * 19
_NUMBER_STARTS = frozenset((b"", b"-", b":", b"[", b",", b" ", b"\t", b"\n", b"\r"))


def json_loads_exact(raw: bytes) -> Any:
    """orjson.loads, except that integers beyond 64 bits stay Python ints instead of becoming floats.

    orjson decides what is valid JSON (and raises its JSONDecodeError); only a document that might
    hold such an integer is decoded again by the standard library, which keeps every integer exact.
    `event_validate` then rejects the event naming the field (orjson cannot store those integers).
    """
    data = orjson.loads(raw)
    if may_hold_long_integer(raw) and LONG_INTEGER_RE.search(raw):
        try:
            data = json.loads(raw)
        except RecursionError:
            pass  # deeper than the standard library goes: over the nesting limit anyway (413)
    return data


def may_hold_long_integer(raw: bytes) -> bool:
    """Whether a run of 19 or more digits starts where a JSON number may start (a cheap scan)."""
    digits = raw.translate(_DIGIT_MAP)
    at = digits.find(_LONG_DIGIT_RUN)
    while at != -1:
        # The first match of a run starts it: the byte before is not a digit.
        if raw[at - 1 : at] in _NUMBER_STARTS:
            return True
        end = digits.find(b"0", at)
        at = -1 if end == -1 else digits.find(_LONG_DIGIT_RUN, end)
    return False
