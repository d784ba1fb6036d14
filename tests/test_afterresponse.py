"""Work deferred to after the response: run once the body is closed, in order, never before."""

from __future__ import annotations

import logging

import pytest

from alertsite import afterresponse
from alertsite.afterresponse import AfterResponse


class Body(list):
    closed = False

    def close(self) -> None:
        self.closed = True


def served(app, log: list[str]):
    def start_response(status, headers, exc_info=None):
        log.append(f"start {status}")

    return AfterResponse(app)({}, start_response)


def test_deferred_jobs_run_when_the_server_closes_the_body_in_order_then_the_body_closes():
    log: list[str] = []
    body = Body([b"ok"])

    def app(environ, start_response):
        start_response("202 Accepted", [])
        afterresponse.defer(lambda: log.append(f"first, body closed: {body.closed}"))
        afterresponse.defer(lambda: log.append("second"))
        return body

    result = served(app, log)
    assert b"".join(result) == b"ok"
    assert log == ["start 202 Accepted"]
    result.close()
    assert log == ["start 202 Accepted", "first, body closed: False", "second"]
    assert body.closed


def test_a_response_without_deferred_work_is_returned_untouched():
    body = Body([b"static"])
    assert served(lambda environ, start_response: body, []) is body


def test_a_failing_job_is_logged_and_the_next_still_runs(caplog):
    log: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    def app(environ, start_response):
        afterresponse.defer(broken)
        afterresponse.defer(lambda: log.append("ran"))
        return Body()

    with caplog.at_level(logging.ERROR, logger="alertsite.afterresponse"):
        served(app, log).close()
    assert log == ["ran"]
    assert "after the response failed" in caplog.text


def test_jobs_know_they_run_after_the_response_and_the_request_does_not():
    seen: list[tuple[str, bool]] = []

    def app(environ, start_response):
        seen.append(("request", afterresponse.running()))
        afterresponse.defer(lambda: seen.append(("job", afterresponse.running())))
        return Body()

    served(app, []).close()
    assert seen == [("request", False), ("job", True)]
    assert afterresponse.running() is False


def test_outside_a_wrapped_request_nothing_is_deferrable():
    assert afterresponse.deferrable() is False
    with pytest.raises(RuntimeError):
        afterresponse.defer(lambda: None)


def test_closing_twice_runs_the_jobs_once():
    log: list[str] = []

    def app(environ, start_response):
        afterresponse.defer(lambda: log.append("ran"))
        return Body()

    result = served(app, log)
    result.close()
    result.close()
    assert log == ["ran"]


def test_a_job_may_defer_more_work_which_runs_after_it():
    log: list[str] = []

    def first() -> None:
        log.append("first")
        afterresponse.defer(lambda: log.append("deferred by the first"))

    def app(environ, start_response):
        afterresponse.defer(first)
        afterresponse.defer(lambda: log.append("second"))
        return Body()

    served(app, log).close()
    assert log == ["first", "second", "deferred by the first"]
    assert afterresponse.deferrable() is False
