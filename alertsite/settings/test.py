"""Test settings: the base settings with fast hashing and no real outbound e-mail."""

from __future__ import annotations

import os

# Long and varied enough for the production check (tests run with DEBUG off on PostgreSQL).
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789-abcdefghij")
os.environ.setdefault("ALERTSITE_ENCRYPTION_KEY", "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU=")
os.environ.setdefault("ALERTSITE_WEBHOOK_ALLOW_PRIVATE", "true")
os.environ.setdefault("ALERTSITE_SOURCE_ALLOW_PRIVATE", "true")

from alertsite.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests run tasks in-process unless a test starts a real worker on the broker.
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
