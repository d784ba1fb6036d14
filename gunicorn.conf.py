"""gunicorn's settings file: gunicorn reads ./gunicorn.conf.py from its working directory.

The master checks the keys and the database once, before it forks a worker, so a start that
cannot work stops with one line and exit 4. Without it every worker fails the same check at
the same moment, and gunicorn 27 may then report the second failure as a traceback and exit 1.
Options (workers, bind, ...) still come from the command line or GUNICORN_CMD_ARGS.
"""

from __future__ import annotations

import os
from typing import Any


def on_starting(server: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")
    import django

    from alertsite.startup import StartupRefused, database_refusal, refuse

    try:
        django.setup()
    except StartupRefused as refusal:
        refuse(refusal)
    if refusal := database_refusal():
        refuse(refusal)
