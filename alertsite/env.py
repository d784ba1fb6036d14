"""The one `environ.Env` every settings module reads from."""

from __future__ import annotations

import environ

env = environ.Env()
