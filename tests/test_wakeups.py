"""Coalesced wake-ups: one queued drain however many commits ask, and never a lost one."""

from __future__ import annotations

import pytest

from alertsite.wakeups import wake, woken
from rules.tasks import evaluate_pending_task

pytestmark = pytest.mark.redis


def test_second_wake_while_one_is_queued_queues_nothing(broker_queue):
    assert wake("test", evaluate_pending_task) is True
    assert wake("test", evaluate_pending_task) is False
    assert broker_queue.llen("celery") == 1


def test_wake_after_the_drain_started_queues_again(broker_queue):
    wake("test", evaluate_pending_task)
    woken("test")
    assert wake("test", evaluate_pending_task) is True
    assert broker_queue.llen("celery") == 2


def test_wake_whose_enqueue_failed_leaves_no_flag_behind(broker_queue, monkeypatch):
    def broker_down():
        raise ConnectionError("broker down")

    monkeypatch.setattr(evaluate_pending_task, "delay", broker_down)
    with pytest.raises(ConnectionError):
        wake("test", evaluate_pending_task)
    monkeypatch.undo()
    assert wake("test", evaluate_pending_task) is True


def test_without_a_shared_cache_every_wake_queues(broker_queue, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert wake("test", evaluate_pending_task) is True
    assert wake("test", evaluate_pending_task) is True
    assert broker_queue.llen("celery") == 2
