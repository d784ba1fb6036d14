"""Accounts keep no tables of their own: users are Django's, roles are Django groups (see roles.py)."""

from __future__ import annotations
