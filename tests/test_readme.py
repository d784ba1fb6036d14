"""README.md holds up: its webhook "Verify it" snippet runs as written against a real signed delivery,
and every link in it stays inside the repository (a relative path that exists, or an anchor of one
of its headings); no bare URL becomes a link on GitHub."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from channels.services import channel_create, channel_test
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FENCE = re.compile(r"^\s*```")


def verify_snippet() -> str:
    """The ```python block right after the webhooks' "Verify it" sentence, dedented."""
    text = README.read_text()
    start = text.index("Verify it with")
    block = re.search(r"```python\n(.*?)\n\s*```", text[start:], re.S)
    assert block is not None, "README: no python block after 'Verify it with'"
    return textwrap.dedent(block.group(1))


@pytest.fixture
def signature_ok() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(verify_snippet(), "README.md (Verify it)", "exec"), namespace)
    return namespace["alertsite_signature_ok"]


@pytest.mark.django_db
def test_the_readme_verify_snippet_accepts_a_real_signed_delivery_and_nothing_else(signature_ok) -> None:
    with WebhookReceiver() as hook:
        channel = channel_create(
            data={"kind": "webhook", "name": "Signed", "config": {"url": hook.url, "secret": "readme-secret"}},
            actor=None,
        )
        assert channel_test(channel=channel, actor=None).status == "sent"
        (request,) = hook.wait_for(1)
    assert request.header("X-Alertsite-Signature").startswith("sha256=")
    assert signature_ok(b"readme-secret", request.headers, request.body)
    assert not signature_ok(b"another-secret", request.headers, request.body)
    assert not signature_ok(b"readme-secret", request.headers, request.body + b" ")
    old = {**dict(request.headers.items()), "X-Alertsite-Timestamp": "1600000000"}
    assert not signature_ok(b"readme-secret", old, request.body)


def prose(text: str) -> str:
    """The README without fenced blocks and code spans: what GitHub renders as text (and links)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        lines.append("" if fenced else line)
    return re.sub(r"`[^`]*`", "", "\n".join(lines))  # spans may run over a line break


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of the README's headings (lower case, punctuation dropped, spaces to -)."""
    anchors = set()
    for line in prose(text).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_every_readme_link_is_a_path_in_the_repository_or_an_anchor() -> None:
    text = README.read_text()
    body = prose(text)
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", body)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", body, re.M)  # reference-style definitions
    assert targets, "no links found: the pattern is broken"
    anchors = heading_anchors(text)
    for target in targets:
        assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//", target, re.I), f"link outside the repository: {target}"
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / path).exists(), f"link to a missing file: {target}"
        else:
            assert anchor in anchors, f"link to a missing heading: {target}"


def test_no_bare_url_in_the_readme_becomes_a_link() -> None:
    body = prose(README.read_text())
    bare = re.findall(r"<[a-z]+:[^>]*>|\bhttps?://\S+|\bwww\.\S+", body, re.I)
    assert not bare, f"put these in `code` or link a file of the repository: {bare}"
