"""The Content-Security-Policy header (README "Security headers"): on every page, without 'unsafe-inline',
and switchable with ALERTSITE_CSP (enforce, report-only, off) for the overhead bench."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_settings import GOOD_ENCRYPTION_KEY, GOOD_SECRET_KEY, python

PRODUCTION_KEYS = {"SECRET_KEY": GOOD_SECRET_KEY, "ALERTSITE_ENCRYPTION_KEY": GOOD_ENCRYPTION_KEY}

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parent.parent
EXPECTED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PAGES = ["/", "/insights/alerts/", "/insights/alerts/rules/new/", "/settings/notification-channels/", "/admin/"]
PRINT_CSP = """
import json
from alertsite.settings import base as s
print(json.dumps({
    "middleware": "csp.middleware.CSPMiddleware" in s.MIDDLEWARE,
    "enforce": getattr(s, "CONTENT_SECURITY_POLICY", None),
    "report_only": getattr(s, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
}))
"""
# What the policy forbids, as it would be written in a template: inline <style> or <script> (a JSON
# data block is not a script), style="" attributes and on...="" event handlers.
INLINE = re.compile(
    r"<style[\s>]|<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\sstyle=|\son[a-z]+=", re.I
)
COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)


def directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_policy_without_unsafe_inline(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert directives(header) == EXPECTED


def test_the_sign_in_page_and_the_api_docs_carry_it_too(client):
    for path in ["/accounts/login/", "/api/docs/"]:
        assert directives(client.get(path)["Content-Security-Policy"]) == EXPECTED


def test_no_template_has_inline_script_style_or_event_handlers():
    found = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for path in sorted((REPO / "templates").rglob("*.html"))
        if "email" not in path.parts  # e-mail bodies are read in mail clients, not under the policy
        for match in INLINE.finditer(COMMENTS.sub("", path.read_text()))
    ]
    assert found == []


def csp_settings(mode: str) -> dict:
    result = python(PRINT_CSP, ALERTSITE_CSP=mode, **PRODUCTION_KEYS, DATABASE_URL="sqlite:////tmp/unused.sqlite3")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_enforce_is_the_default():
    result = python(PRINT_CSP, **PRODUCTION_KEYS, DATABASE_URL="sqlite:////tmp/unused.sqlite3")
    settings = json.loads(result.stdout)
    assert settings["middleware"] and settings["enforce"] and settings["report_only"] is None


def test_report_only_sends_the_same_policy_as_report_only():
    settings = csp_settings("report-only")
    assert settings["middleware"] and settings["enforce"] is None
    assert settings["report_only"]["DIRECTIVES"]["style-src"] == ["'self'"]


def test_off_installs_no_middleware_at_all():
    assert csp_settings("off") == {"middleware": False, "enforce": None, "report_only": None}


def test_an_unknown_mode_is_refused_naming_the_choices():
    result = python(PRINT_CSP, ALERTSITE_CSP="strict", **PRODUCTION_KEYS, DATABASE_URL="sqlite:////tmp/unused.sqlite3")
    assert result.returncode != 0
    assert "ALERTSITE_CSP must be one of enforce, report-only, off, not 'strict'" in result.stderr
