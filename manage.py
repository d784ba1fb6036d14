#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that need the database from their first moment: checked up front, so an unreachable
# DATABASE_URL is one line and a non-zero exit, not a traceback (or a runserver that hangs on).
DATABASE_COMMANDS = {"migrate", "runserver", "serve"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertsite.settings.base")
    import django
    from django.core.management import execute_from_command_line

    from alertsite.startup import StartupRefused, database_refusal, refuse

    try:
        if sys.argv[1:2] and sys.argv[1] in DATABASE_COMMANDS and not {"-h", "--help"} & set(sys.argv):
            django.setup()
            if refusal := database_refusal():
                refuse(refusal)
        execute_from_command_line(sys.argv)
    except StartupRefused as refusal:  # a missing or weak key, raised while the settings load
        refuse(refusal)


if __name__ == "__main__":
    main()
